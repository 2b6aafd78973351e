import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
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

/** One execution of an agent on a session: the state machine of seed 000 plus `queued`. */
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
    // [cluster] Maintained by a trigger (migration cluster_triggers) on every state change, so the
    // event listener can catch up on run state changes it missed while its LISTEN connection was down.
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
    index('agentpg_runs_session_idx').on(t.sessionId, t.createdAt),
    // Stuck-run cleanup and "runs of dead instances" look up running runs by start time / instance.
    index('agentpg_runs_running_idx').on(t.startedAt).where(sql`${t.state} = 'running'`),
    index('agentpg_runs_instance_idx').on(t.instanceId).where(sql`${t.state} = 'running'`),
    index('agentpg_runs_state_idx').on(t.state, t.createdAt),
    // [cluster] Event catch-up after a LISTEN reconnect: runs whose state changed since a time.
    index('agentpg_runs_state_changed_idx').on(t.stateChangedAt),
    uniqueIndex('agentpg_runs_idempotency_idx').on(t.sessionId, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
  ],
);

/** Every user, assistant and tool_result message of a session, in order, with its content blocks. */
export const messages = pgTable(
  'agentpg_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Order within a session. Runs of one session never interleave, so identity order is message order.
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    runId: uuid('run_id').references(() => runs.id, { onDelete: 'cascade' }),
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
    index('agentpg_messages_session_seq_idx').on(t.sessionId, t.seq),
    index('agentpg_messages_run_idx').on(t.runId),
  ],
);

export const TOOL_CALL_STATES = ['pending', 'running', 'succeeded', 'failed'] as const;
export type ToolCallState = (typeof TOOL_CALL_STATES)[number];

/** One row per tool_use block: input, output or error, attempts and timings. */
export const toolCalls = pgTable(
  'agentpg_tool_calls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
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
    uniqueIndex('agentpg_tool_calls_run_tool_use_idx').on(t.runId, t.toolUseId),
    index('agentpg_tool_calls_message_idx').on(t.messageId),
  ],
);
