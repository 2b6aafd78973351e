import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { sessions } from './runs.js';

/**
 * A legal hold on a session (src/retention/holds.ts): while the row exists, retention never
 * deletes or archives the session, nor any session below it (its child sessions, agents as tools).
 * A table of its own rather than a column of agentpg_sessions, so the retention module writes only
 * its own tables. Its foreign key also orders a hold against a retention batch: the insert takes a
 * KEY SHARE lock on the session row, which the batch's FOR UPDATE either skips or waits out.
 */
export const sessionHolds = pgTable('agentpg_session_holds', {
  sessionId: uuid('session_id')
    .primaryKey()
    .references(() => sessions.id, { onDelete: 'cascade' }),
  reason: text('reason'),
  heldBy: varchar('held_by', { length: 255 }),
  heldAt: timestamp('held_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One row per retention pass (a pg-boss singleton job, src/retention/service.ts). The counts are
 * added by each batch in the batch's own transaction, so they are exact even for a pass that died
 * half-way (finished_at then stays null).
 */
export const retentionPasses = pgTable(
  'agentpg_retention_passes',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    // The pg-boss job of the pass; null for a pass run by hand (client.runRetentionPass()).
    jobId: uuid('job_id').unique(),
    instanceId: varchar('instance_id', { length: 255 }).notNull(),
    mode: varchar('mode', { length: 10 }).$type<'delete' | 'archive'>().notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    batches: integer('batches').notNull().default(0),
    sessions: integer('sessions').notNull().default(0),
    runs: integer('runs').notNull().default(0),
    messages: integer('messages').notNull().default(0),
    toolCalls: integer('tool_calls').notNull().default(0),
    compactions: integer('compactions').notNull().default(0),
    error: text('error'),
  },
  (t) => [
    check('agentpg_retention_passes_mode_check', sql`${t.mode} in ('delete', 'archive')`),
    index('agentpg_retention_passes_started_idx').on(t.startedAt),
  ],
);

// Archive tables (retention mode 'archive'): each retired row, whole, as jsonb (`to_jsonb` of the
// live row), under its key. jsonb rather than a copy of the columns, so a later migration of a
// live table never has to be repeated on its archive, and old archived rows keep their own shape.

export const archiveSessions = pgTable(
  'agentpg_archive_sessions',
  {
    id: uuid('id').primaryKey(),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  (t) => [index('agentpg_archive_sessions_tenant_idx').on(t.tenantId, t.archivedAt)],
);

export const archiveRuns = pgTable(
  'agentpg_archive_runs',
  {
    id: uuid('id').notNull(),
    sessionId: uuid('session_id').notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  // Keyed by session first: the table's distribution key on Citus (src/db/citus/layout.ts).
  (t) => [primaryKey({ name: 'agentpg_archive_runs_pkey', columns: [t.sessionId, t.id] })],
);

export const archiveMessages = pgTable(
  'agentpg_archive_messages',
  {
    sessionId: uuid('session_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  (t) => [primaryKey({ name: 'agentpg_archive_messages_pkey', columns: [t.sessionId, t.seq] })],
);

export const archiveToolCalls = pgTable(
  'agentpg_archive_tool_calls',
  {
    id: uuid('id').notNull(),
    sessionId: uuid('session_id').notNull(),
    runId: uuid('run_id').notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  // Keyed by session first: the table's distribution key on Citus (src/db/citus/layout.ts).
  (t) => [primaryKey({ name: 'agentpg_archive_tool_calls_pkey', columns: [t.sessionId, t.id] })],
);

export const archiveCompactions = pgTable(
  'agentpg_archive_compactions',
  {
    sessionId: uuid('session_id').notNull(),
    number: integer('number').notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  },
  (t) => [primaryKey({ name: 'agentpg_archive_compactions_pkey', columns: [t.sessionId, t.number] })],
);
