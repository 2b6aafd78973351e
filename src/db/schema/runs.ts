import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

/** Run states. `queued` comes before pick-up; the last three are terminal. */
export const RUN_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const TERMINAL_RUN_STATES = ['completed', 'failed', 'cancelled'] as const;

/** A conversation: tenant + identifier, optional parent, and its ordered messages. */
export const sessions = pgTable(
  'agentpg_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    identifier: varchar('identifier', { length: 255 }).notNull(),
    agentName: varchar('agent_name', { length: 255 }),
    parentSessionId: uuid('parent_session_id').references((): AnyPgColumn => sessions.id, { onDelete: 'set null' }),
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
 * One execution of an agent on a session: the state machine of seed 000 plus `queued`.
 * Storage: fillfactor 50 (migration runs_fillfactor; drizzle does not model it) so a run's claim
 * is a HOT update and its finalize stays on the row's page.
 */
export const runs = pgTable(
  'agentpg_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    state: varchar('state', { length: 20 }).$type<RunState>().notNull().default('queued'),
    agentName: varchar('agent_name', { length: 255 }).notNull(),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    prompt: text('prompt').notNull(),
    responseText: text('response_text'),
    stopReason: varchar('stop_reason', { length: 50 }),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheCreationInputTokens: integer('cache_creation_input_tokens').notNull().default(0),
    cacheReadInputTokens: integer('cache_read_input_tokens').notNull().default(0),
    toolIterations: integer('tool_iterations').notNull().default(0),
    errorMessage: text('error_message'),
    errorType: varchar('error_type', { length: 50 }),
    instanceId: varchar('instance_id', { length: 255 }),
    idempotencyKey: varchar('idempotency_key', { length: 255 }),
    jobId: uuid('job_id'),
    attempts: integer('attempts').notNull().default(0),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    finalizedAt: timestamp('finalized_at', { withTimezone: true }),
    // [cluster] When the state last changed, so the event listener can catch up on run state
    // changes it missed while its LISTEN connection was down. Set by every statement that changes
    // the state (claimRuns, requestCancel, ...), not by a trigger: a BEFORE UPDATE row trigger makes
    // PostgreSQL lock, and WAL-log the lock of, the row on every update (migration
    // runs_delete_cascade). Not indexed: the claim changes it (see the indexes below).
    stateChangedAt: timestamp('state_changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('agentpg_runs_state_check', sql`${t.state} in ('queued', 'running', 'completed', 'failed', 'cancelled')`),
    // A run is finalized exactly when it is in a terminal state.
    check(
      'agentpg_runs_finalized_check',
      sql`(${t.state} in ('completed', 'failed', 'cancelled')) = (${t.finalizedAt} is not null)`,
    ),
    // A run that ever ran has a start time.
    check('agentpg_runs_started_check', sql`${t.state} in ('queued', 'cancelled') or ${t.startedAt} is not null`),
    check('agentpg_runs_tokens_check', sql`${t.inputTokens} >= 0 and ${t.outputTokens} >= 0`),
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
    index('agentpg_runs_active_idx').on(t.createdAt).where(sql`${t.finalizedAt} is null`),
    // [cluster] The finished runs by finalization time (= their last state change): event catch-up
    // after a LISTEN reconnect (with the active index) and `runs list`. One entry per run, added by
    // the finalize, which is non-HOT anyway.
    index('agentpg_runs_finished_idx').on(t.finalizedAt).where(sql`${t.finalizedAt} is not null`),
    uniqueIndex('agentpg_runs_idempotency_idx').on(t.sessionId, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
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
 * that also claims or advances the run with a guarded UPDATE of its row (claimRuns, advanceRun,
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
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheCreationInputTokens: integer('cache_creation_input_tokens').notNull().default(0),
    cacheReadInputTokens: integer('cache_read_input_tokens').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('agentpg_messages_role_check', sql`${t.role} in ('user', 'assistant')`),
    // A session's messages in order; also serves a run's messages (session_id = the run's session,
    // then filtered on run_id). The only index of the table.
    primaryKey({ name: 'agentpg_messages_pkey', columns: [t.sessionId, t.seq] }),
  ],
);

export const TOOL_CALL_STATES = ['pending', 'running', 'succeeded', 'failed'] as const;
export type ToolCallState = (typeof TOOL_CALL_STATES)[number];

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
  },
  (t) => [
    check('agentpg_tool_calls_state_check', sql`${t.state} in ('pending', 'running', 'succeeded', 'failed')`),
    check(
      'agentpg_tool_calls_finished_check',
      sql`(${t.state} in ('succeeded', 'failed')) = (${t.finishedAt} is not null)`,
    ),
    // Also serves a run's tool calls (run_id prefix) and the delete cascade from agentpg_runs.
    uniqueIndex('agentpg_tool_calls_run_tool_use_idx').on(t.runId, t.toolUseId),
  ],
);
