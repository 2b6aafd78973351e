import pg from 'pg';
import type { PgBoss, Queue } from 'pg-boss';
import { PGBOSS_SCHEMA } from '../db/migrate.js';
import type { Queryable } from '../db/queryable.js';
import { RUNS_QUEUE } from './queueName.js';

/** What a run's job carries: ids only (the prompt lives in agentpg_runs / agentpg_messages). */
export interface RunJobData {
  runId: string;
  agentName: string;
}

/**
 * Job heartbeat: a worker touches its jobs every HEARTBEAT_SECONDS / 2; a job not touched for
 * HEARTBEAT_SECONDS (pg-boss's minimum, 10) is put back to `retry` by the next supervise pass of
 * any instance (supervise/monitor intervals are set on the PgBoss constructor in client.ts), so a
 * run whose worker died is picked up again in seconds.
 */
export const HEARTBEAT_SECONDS = 10;

/**
 * The queue's policy and limits:
 * - `key_strict_fifo` with singletonKey = session id: runs of one session start in enqueue order
 *   and never overlap (a job that is active or in retry holds back its session's later jobs).
 *   A job left `failed` would hold them back forever, so agentpg never fails a run's job for good:
 *   a run that ends (completed, failed or cancelled) DELETES its job (the failure lives in agentpg_runs), and
 *   the retry limit is effectively unlimited (agentpg bounds real attempts itself with
 *   agentpg_runs.attempts, see MAX_RUN_ATTEMPTS).
 * - expireInSeconds at pg-boss's 24 h maximum: liveness comes from heartbeats, not expiry.
 * - notify: false. Workers are woken by agentpg's own NOTIFY (the run state trigger fires on every
 *   insert of a queued run, in the enqueue transaction), so pg-boss's would be a second NOTIFY per
 *   run for nothing. Polling (RUN_POLL_INTERVAL_MS) is the backstop for jobs that become fetchable
 *   without a notification (a retry after a worker died).
 */
export const RUNS_QUEUE_OPTIONS: Omit<Queue, 'name'> = {
  policy: 'key_strict_fifo',
  partition: true,
  retryLimit: 1_000_000,
  retryDelay: 1,
  retryBackoff: true,
  retryDelayMax: 30,
  expireInSeconds: 24 * 60 * 60,
  heartbeatSeconds: HEARTBEAT_SECONDS,
  deleteAfterSeconds: 24 * 60 * 60,
  notify: false,
};

/**
 * The worker's backstop poll: a job that becomes fetchable without a NOTIFY (a retry after its
 * worker died or was handed back) is picked up within this long.
 */
export const RUN_POLL_INTERVAL_MS = 2000;

/** A run picked up more often than this (crash loops) is failed with `max_attempts_exceeded`. */
export const MAX_RUN_ATTEMPTS = 10;

/**
 * Room on each page of the runs queue's job table for the fetch's update of a job (created →
 * active): with full pages that update goes to another page, and PostgreSQL then WAL-logs a row
 * lock before it plus the whole new row (measured: ~120 bytes a run more). Jobs are deleted when
 * their run ends, so the pages empty out and are reused; the table stays small.
 */
const JOB_TABLE_FILLFACTOR = 50;

/**
 * Creates the queue if missing (idempotent in pg-boss: ON CONFLICT DO NOTHING), then ANALYZEs its
 * fresh job table (`partition: true` gives it a table of its own): until autovacuum first analyzes
 * it, the planner knows nothing about that table, and with a backlog of thousands of queued runs
 * pg-boss's key_strict_fifo fetch then picks a nested loop that took seconds per fetch (measured:
 * 8-11 s for 50 jobs with 12,000 queued; 36-67 ms once the table had statistics, even ones taken
 * while it was empty).
 */
export async function ensureRunsQueue(boss: PgBoss, db: Queryable): Promise<string> {
  const existing = await boss.getQueue(RUNS_QUEUE);
  if (!existing) {
    await boss.createQueue(RUNS_QUEUE, RUNS_QUEUE_OPTIONS);
    const created = await boss.getQueue(RUNS_QUEUE);
    if (!created?.table) throw new Error(`pg-boss created queue ${RUNS_QUEUE} without a job table`);
    await tuneNewJobTable(db, created.table);
    return created.table;
  }
  if (!existing.table) throw new Error(`pg-boss queue ${RUNS_QUEUE} has no job table`);
  // A queue created by an earlier version: give its table the fillfactor too (checked first: the
  // ALTER takes a brief exclusive lock, not worth taking at every start).
  await setJobTableFillfactor(db, existing.table, { onlyIfMissing: true });
  const o = RUNS_QUEUE_OPTIONS;
  if (
    existing.retryLimit !== o.retryLimit ||
    existing.expireInSeconds !== o.expireInSeconds ||
    existing.heartbeatSeconds !== o.heartbeatSeconds ||
    existing.retryDelayMax !== o.retryDelayMax
  ) {
    await boss.updateQueue(RUNS_QUEUE, {
      retryLimit: o.retryLimit,
      retryDelay: o.retryDelay,
      retryBackoff: o.retryBackoff,
      retryDelayMax: o.retryDelayMax,
      expireInSeconds: o.expireInSeconds,
      heartbeatSeconds: o.heartbeatSeconds,
      deleteAfterSeconds: o.deleteAfterSeconds,
    });
  }
  return existing.table;
}

/** A fresh queue table: fillfactor (JOB_TABLE_FILLFACTOR) and statistics (ensureRunsQueue says why). */
export async function tuneNewJobTable(db: Queryable, tableName: string): Promise<void> {
  await setJobTableFillfactor(db, tableName);
  await db.query(`analyze ${PGBOSS_SCHEMA}.${pg.escapeIdentifier(tableName)}`);
}

async function setJobTableFillfactor(
  db: Queryable,
  tableName: string,
  options: { onlyIfMissing?: boolean } = {},
): Promise<void> {
  if (options.onlyIfMissing) {
    const { rows } = await db.query<{ set: boolean }>(
      `select coalesce($2 = any(c.reloptions), false) as set
         from pg_class c where c.relnamespace = $1::regnamespace and c.relname = $3`,
      [PGBOSS_SCHEMA, `fillfactor=${JOB_TABLE_FILLFACTOR}`, tableName],
    );
    if (rows[0]?.set !== false) return; // already set, or no such table
  }
  await db.query(
    `alter table ${PGBOSS_SCHEMA}.${pg.escapeIdentifier(tableName)} set (fillfactor = ${JOB_TABLE_FILLFACTOR})`,
  );
}
