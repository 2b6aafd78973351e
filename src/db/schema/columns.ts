import { bigint, integer, jsonb, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';

// Column groups several tables repeat, defined once. A function each, so every table gets columns
// of its own (a drizzle column belongs to one table). Not exported by index.ts: no table here.

/** A model call's tokens: agentpg_runs (a run's totals) and agentpg_messages (one call's). */
export function tokenColumns() {
  return {
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheCreationInputTokens: integer('cache_creation_input_tokens').notNull().default(0),
    cacheReadInputTokens: integer('cache_read_input_tokens').notNull().default(0),
  };
}

/** What an archive table keeps of a retired row beside its key: when, and the row whole (jsonb). */
export function archivedRowColumns() {
  return {
    archivedAt: timestamp('archived_at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').notNull(),
  };
}

/** A pass log's row (agentpg_cleanup_passes, agentpg_retention_passes): which job, instance, when. */
export function passColumns() {
  return {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    // The pg-boss job of the pass; null for a pass run by hand (client.runCleanupPass(),
    // client.runRetentionPass()).
    jobId: uuid('job_id').unique(),
    instanceId: varchar('instance_id', { length: 255 }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  };
}
