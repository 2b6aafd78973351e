import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  numeric,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import type { RunState, ToolCallState } from '../../runs/states.js';
import { tokenColumns } from './columns.js';

/** A conversation: tenant + identifier, optional parent, and its ordered messages. */
export const sessions = pgTable(
  'agentpg_sessions',
  {
    // Time-ordered (agentpg_uuidv7(), migration soak_wal): a new session's entries land beside
    // the other new ones in every index keyed by it (its primary key, agentpg_messages_pkey,
    // agentpg_runs_session_idx), not on a random leaf of a big index (see runs.id).
    id: uuid('id')
      .primaryKey()
      .default(sql`agentpg_uuidv7()`),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    identifier: varchar('identifier', { length: 255 }).notNull(),
    agentName: varchar('agent_name', { length: 255 }),
    // No foreign key (migration citus_ready): a child session's parent is another session, a key
    // Citus cannot check across shards (docs/scaling.md). The insert checks the parent exists
    // (src/runs/sql/sessions.ts); deleting a session clears its children's parent_session_id
    // (trigger agentpg_sessions_delete_messages), as ON DELETE SET NULL did.
    parentSessionId: uuid('parent_session_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('agentpg_sessions_tenant_identifier_idx').on(t.tenantId, t.identifier),
    index('agentpg_sessions_parent_idx').on(t.parentSessionId),
  ],
);

/**
 * One execution of an agent on a session: its state goes queued → running → completed | failed | cancelled.
 * Storage: fillfactor 50 (migration runs_fillfactor; drizzle does not model it) so a run's claim
 * is a HOT update and its finalize stays on the row's page.
 */
export const runs = pgTable(
  'agentpg_runs',
  {
    // Time-ordered (agentpg_uuidv7(), migration soak_wal): a random id puts each new run on a
    // random leaf of agentpg_runs_pkey, and once the table outgrows memory nearly every one of
    // them is the first change to that page since the last checkpoint, so it is WAL-logged whole
    // (8 KB full-page image). Measured by the soak benchmark at 1,000,000 runs.
    id: uuid('id')
      .primaryKey()
      .default(sql`agentpg_uuidv7()`),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    state: varchar('state', { length: 20 }).$type<RunState>().notNull().default('queued'),
    agentName: varchar('agent_name', { length: 255 }).notNull(),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    prompt: text('prompt').notNull(),
    responseText: text('response_text'),
    stopReason: varchar('stop_reason', { length: 50 }),
    ...tokenColumns(),
    toolIterations: integer('tool_iterations').notNull().default(0),
    errorMessage: text('error_message'),
    errorType: varchar('error_type', { length: 50 }),
    instanceId: varchar('instance_id', { length: 255 }),
    idempotencyKey: varchar('idempotency_key', { length: 255 }),
    jobId: uuid('job_id'),
    attempts: integer('attempts').notNull().default(0),
    // [ratelimit] Claims that ended in a hand-back to wait for model capacity (src/ratelimit/):
    // not crashes, so they do not count towards MAX_RUN_ATTEMPTS.
    rateLimitDeferrals: integer('rate_limit_deferrals').notNull().default(0),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    // Per-run variables for tools (enqueue option `context`, ctx.context; src/runs/runContext.ts):
    // never sent to the model. Null when none were given (no bytes in the row).
    context: jsonb('context').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    finalizedAt: timestamp('finalized_at', { withTimezone: true }),
    // [cluster] When the state last changed, so the event listener can catch up on run state
    // changes it missed while its LISTEN connection was down. Set by every statement that changes
    // the state (fetchAndClaimRuns, requestCancel, ...), not by a trigger: a BEFORE UPDATE row trigger makes
    // PostgreSQL lock, and WAL-log the lock of, the row on every update (migration
    // runs_delete_cascade). Not indexed: the claim changes it (see the indexes below).
    stateChangedAt: timestamp('state_changed_at', { withTimezone: true }).notNull().defaultNow(),
    // Agents as tools (src/runs/childRuns.ts): a child run was started by a tool call of its parent
    // (parent_tool_call_id: the agentpg_tool_calls row, whose result the child's final answer
    // becomes). depth: 0 for a run enqueued by a caller, the parent's + 1 for a child.
    // No foreign key either (migration citus_ready): the parent run is in another session. The
    // child is inserted under the parent's row lock (lockParentRuns); deleting a run clears its
    // children's parent_run_id (trigger agentpg_runs_delete_children), as ON DELETE SET NULL did.
    parentRunId: uuid('parent_run_id'),
    parentToolCallId: uuid('parent_tool_call_id'),
    depth: integer('depth').notNull().default(0),
    // [tracing] The W3C traceparent every execution of the run parents its span on (src/tracing/),
    // written by the enqueue: all attempts of a run, on any instance, share one trace. Null when
    // the run was enqueued with no trace context (plain SQL, no OpenTelemetry SDK).
    traceParent: text('trace_parent'),
    // [batch] The run's model calls go through the Message Batches API (src/batch/): true or false
    // as asked at enqueue; null: the agent's `batch` default decides.
    batchMode: boolean('batch_mode'),
  },
  (t) => [
    check(
      'agentpg_runs_state_check',
      sql`${t.state} in ('queued', 'running', 'awaiting_input', 'completed', 'failed', 'cancelled')`,
    ),
    // A run is finalized exactly when it is in a terminal state.
    check(
      'agentpg_runs_finalized_check',
      sql`(${t.state} in ('completed', 'failed', 'cancelled')) = (${t.finalizedAt} is not null)`,
    ),
    // A run that ever ran has a start time.
    check('agentpg_runs_started_check', sql`${t.state} in ('queued', 'cancelled') or ${t.startedAt} is not null`),
    check('agentpg_runs_tokens_check', sql`${t.inputTokens} >= 0 and ${t.outputTokens} >= 0`),
    // A child run has both parent fields and depth >= 1; a root run neither, and depth 0.
    check(
      'agentpg_runs_parent_check',
      sql`(${t.parentToolCallId} is null and ${t.depth} = 0) or (${t.parentToolCallId} is not null and ${t.depth} >= 1)`,
    ),
    // WAL: each index of agentpg_runs gets an entry on the INSERT and on every non-HOT UPDATE of
    // a run, and a run is inserted, claimed and finalized. So no index mentions a column the claim
    // (queued → running: state, started_at, instance_id, attempts, state_changed_at) changes: the
    // claim is then a HOT update (no index entry at all) when the page has room. The finalize
    // changes finalized_at, so it is never HOT; it adds entries to pkey, session and finished.
    // Runs of a session in creation order: the enqueue "started too early" check, the
    // ON DELETE CASCADE from agentpg_sessions.
    index('agentpg_runs_session_idx').on(t.sessionId, t.createdAt),
    // The unfinished runs (queued + running: few, however many runs the table keeps): queue depth,
    // the cleanup job (stuck runs, runs of dead instances), operator views, event catch-up. A query
    // uses it only when it says `finalized_at is null` (= not terminal, agentpg_runs_finalized_check).
    index('agentpg_runs_active_idx')
      .on(t.createdAt)
      .where(sql`${t.finalizedAt} is null`),
    // [cluster] The finished runs by finalization time (= their last state change): event catch-up
    // after a LISTEN reconnect (with the active index) and `runs list`. One entry per run, added by
    // the finalize, which is non-HOT anyway.
    index('agentpg_runs_finished_idx')
      .on(t.finalizedAt)
      .where(sql`${t.finalizedAt} is not null`),
    // Exactly one child per tool call, whatever crashes and retries happen (childRuns.ts).
    uniqueIndex('agentpg_runs_parent_tool_call_idx')
      .on(t.parentToolCallId)
      .where(sql`${t.parentToolCallId} is not null`),
    // A run's children (cancel cascade, token totals, runs.children()); child runs only.
    index('agentpg_runs_parent_idx')
      .on(t.parentRunId)
      .where(sql`${t.parentRunId} is not null`),
    uniqueIndex('agentpg_runs_idempotency_idx')
      .on(t.sessionId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);

/**
 * Every user, assistant and tool_result message of a session, in order, with its content blocks.
 *
 * No foreign keys here nor on agentpg_tool_calls, on purpose: a foreign key check takes a KEY SHARE
 * lock on the referenced run and session row for every inserted row, and PostgreSQL WAL-logs each
 * such lock (a Heap/LOCK record, plus a MultiXact when the run row is also updated in that
 * transaction): ~380 B per single-turn run, more than the rows' index entries. Integrity holds
 * without them because only agentpg's executions insert these rows, always in the transaction
 * that also claims or advances the run with a guarded UPDATE of its row (fetchAndClaimRuns, advanceRun,
 * finalizeRun: state = 'running' and our attempt): if the run, or its session, was deleted, that
 * UPDATE matches nothing and the transaction rolls back; if the delete comes later it waits for
 * the row lock and then sees the committed rows. ON DELETE CASCADE is kept by the triggers of
 * migration runs_delete_cascade (a deleted run takes its messages and tool calls along, a deleted
 * session its messages). agentpg_runs → agentpg_sessions keeps its foreign key: one lock per run,
 * and it is what stops a run being enqueued into a session being deleted.
 */
export const messages = pgTable(
  'agentpg_messages',
  {
    // The message's id (tool calls name their message by it). Unique by construction (random UUID)
    // and not indexed: nothing looks a message up by id, and an index would cost a leaf insert per
    // message (~72 WAL bytes); the primary key is (session_id, seq), below.
    id: uuid('id').notNull().defaultRandom(),
    // Order within a session. Runs of one session never interleave, so identity order is message order.
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    sessionId: uuid('session_id').notNull(),
    runId: uuid('run_id'),
    role: varchar('role', { length: 20 }).$type<'user' | 'assistant'>().notNull(),
    // The Messages API content blocks, exactly as sent or received (text, tool_use, tool_result, ...).
    content: jsonb('content').$type<unknown[]>().notNull(),
    stopReason: varchar('stop_reason', { length: 50 }),
    ...tokenColumns(),
    // [costs] What this model call cost in USD (src/costs/prices.ts), on its assistant message;
    // null for user messages and for a model without a price. Summed by the agentpg_*_costs views.
    costUsd: numeric('cost_usd', { precision: 18, scale: 9 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('agentpg_messages_role_check', sql`${t.role} in ('user', 'assistant')`),
    // A session's messages in order; also serves a run's messages (session_id = the run's session,
    // then filtered on run_id). The only index of the table.
    primaryKey({ name: 'agentpg_messages_pkey', columns: [t.sessionId, t.seq] }),
  ],
);

/** One row per tool_use block: input, output or error, attempts and timings. */
export const toolCalls = pgTable(
  'agentpg_tool_calls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id').notNull(),
    // The assistant message holding the tool_use block.
    messageId: uuid('message_id').notNull(),
    // The model's tool_use id: also the idempotency key handed to the tool.
    toolUseId: varchar('tool_use_id', { length: 255 }).notNull(),
    toolName: varchar('tool_name', { length: 255 }).notNull(),
    input: jsonb('input').notNull(),
    state: varchar('state', { length: 20 }).$type<ToolCallState>().notNull().default('pending'),
    output: text('output'),
    isError: boolean('is_error').notNull().default(false),
    errorMessage: text('error_message'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    durationMs: integer('duration_ms'),
    // Human approval (tools with needsApproval): null when the call needs none; 'pending' while
    // the run waits for a decision (state stays `pending`), then 'approved' or 'denied'. Decided
    // through agentpg_decide_tool_call() (migration approvals), by a person or by the deadline.
    approval: varchar('approval', { length: 20 }).$type<'pending' | 'approved' | 'denied'>(),
    /** No decision by then: denied with "timed out". */
    approvalDeadline: timestamp('approval_deadline', { withTimezone: true }),
    decidedBy: varchar('decided_by', { length: 255 }),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    /** A denial's reason (sent to the model), or an approver's note. */
    decisionMessage: text('decision_message'),
    /** Approved with edited input: what the tool runs with (`input` keeps what the model asked). */
    approvedInput: jsonb('approved_input'),
    // Input requests (a tool returned requestInput(), src/runs/inputRequests.ts): the question the
    // person is asked while the call is `awaiting_input`; the answer becomes the call's output
    // (agentpg_answer_input(), migration run_inputs), who answered in decided_by/decided_at.
    question: text('question'),
    /** No answer by then: the call fails with "timed out waiting for an answer". */
    answerDeadline: timestamp('answer_deadline', { withTimezone: true }),
  },
  (t) => [
    check('agentpg_tool_calls_approval_check', sql`${t.approval} in ('pending', 'approved', 'denied')`),
    check(
      'agentpg_tool_calls_state_check',
      sql`${t.state} in ('pending', 'running', 'awaiting_input', 'succeeded', 'failed')`,
    ),
    check(
      'agentpg_tool_calls_finished_check',
      sql`(${t.state} in ('succeeded', 'failed')) = (${t.finishedAt} is not null)`,
    ),
    // Also serves a run's tool calls (run_id prefix) and the delete cascade from agentpg_runs.
    uniqueIndex('agentpg_tool_calls_run_tool_use_idx').on(t.runId, t.toolUseId),
  ],
);
