import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { runs } from './runs.js';

/**
 * One Message Batches API batch as agentpg submitted it (src/batch/). The row is written BEFORE the
 * create request is sent (`creating`), so a crash while the request is in flight leaves a row whose
 * outcome the next poll pass reconciles (src/batch/reconcile.ts) instead of sending it again.
 * `batch_id` is the API's id, known once the create returned (`in_progress`); `ended` once its
 * results are stored; `abandoned` when reconciliation proved no batch was created.
 */
export const batchSubmissions = pgTable(
  'agentpg_batch_submissions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: varchar('batch_id', { length: 255 }),
    state: varchar('state', { length: 20 }).notNull().default('creating'),
    requestCount: integer('request_count').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    lastPolledAt: timestamp('last_polled_at', { withTimezone: true }),
  },
  (t) => [
    check(
      'agentpg_batch_submissions_state_check',
      sql`${t.state} in ('creating', 'in_progress', 'ended', 'abandoned')`,
    ),
    uniqueIndex('agentpg_batch_submissions_batch_id_idx').on(t.batchId),
    index('agentpg_batch_submissions_open_idx')
      .on(t.state)
      .where(sql`${t.state} in ('creating', 'in_progress')`),
  ],
);

/**
 * One model call of a batch-mode run (src/batch/): the request's params, stored in the run's
 * suspend transaction, and its result once the batch ended. `custom_id` (the API's rules:
 * 1-64 of [a-zA-Z0-9_-]) is unique forever, so a result is matched to exactly one row and a
 * batch found by reconciliation is matched by its custom ids. (run_id, turn, try): a run's call
 * for a turn is stored once; a retried call (an errored result worth another try) is the next try.
 */
export const batchRequests = pgTable(
  'agentpg_batch_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customId: varchar('custom_id', { length: 64 }).notNull(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    turn: integer('turn').notNull(),
    try: integer('try').notNull().default(1),
    model: varchar('model', { length: 255 }).notNull(),
    params: jsonb('params').notNull(),
    state: varchar('state', { length: 20 }).notNull().default('pending'),
    submissionId: uuid('submission_id').references(() => batchSubmissions.id, { onDelete: 'set null' }),
    // succeeded: the Message; errored: the ErrorResponse; canceled/expired: null.
    result: jsonb('result'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    check('agentpg_batch_requests_custom_id_check', sql`${t.customId} ~ '^[a-zA-Z0-9_-]{1,64}$'`),
    check(
      'agentpg_batch_requests_state_check',
      sql`${t.state} in ('pending', 'submitting', 'submitted', 'succeeded', 'errored', 'canceled', 'expired')`,
    ),
    uniqueIndex('agentpg_batch_requests_custom_id_idx').on(t.customId),
    uniqueIndex('agentpg_batch_requests_run_turn_idx').on(t.runId, t.turn, t.try),
    index('agentpg_batch_requests_pending_idx')
      .on(t.createdAt)
      .where(sql`${t.state} = 'pending'`),
    index('agentpg_batch_requests_submission_idx').on(t.submissionId),
  ],
);
