import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
  varchar,
  type AnyPgColumn,
  type PgColumnBuilderBase,
} from 'drizzle-orm/pg-core';
import { archivedRowColumns, passColumns } from './columns.js';
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
    ...passColumns(),
    mode: varchar('mode', { length: 10 }).$type<'delete' | 'archive'>().notNull(),
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
    ...archivedRowColumns(),
  },
  (t) => [index('agentpg_archive_sessions_tenant_idx').on(t.tenantId, t.archivedAt)],
);

/**
 * An archive table of rows retired by session: keyed by the session first (the table's
 * distribution key on Citus, src/db/citus/layout.ts), then by the row's own `key` column; `more`
 * columns besides.
 */
function archiveBySession<
  K extends string,
  C extends PgColumnBuilderBase,
  M extends Record<string, PgColumnBuilderBase>,
>(name: string, key: K, keyColumn: C, more: M) {
  return pgTable(
    name,
    {
      sessionId: uuid('session_id').notNull(),
      ...({ [key]: keyColumn } as Record<K, C>),
      ...more,
      ...archivedRowColumns(),
    },
    (t) => [
      primaryKey({ name: `${name}_pkey`, columns: [t.sessionId, (t as unknown as Record<K, AnyPgColumn>)[key]] }),
    ],
  );
}

export const archiveRuns = archiveBySession('agentpg_archive_runs', 'id', uuid('id').notNull(), {});
export const archiveMessages = archiveBySession(
  'agentpg_archive_messages',
  'seq',
  bigint('seq', { mode: 'number' }).notNull(),
  {},
);
export const archiveToolCalls = archiveBySession('agentpg_archive_tool_calls', 'id', uuid('id').notNull(), {
  runId: uuid('run_id').notNull(),
});
export const archiveCompactions = archiveBySession(
  'agentpg_archive_compactions',
  'number',
  integer('number').notNull(),
  {},
);
