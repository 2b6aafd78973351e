import type { PoolClient } from 'pg';
import type { JobAttempt } from 'pg-boss';
import type { Queryable } from '../db/queryable.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE } from './queueName.js';
import { fetchAndClaimRuns, type ClaimedRunJob } from './sql/fetchAndClaimRuns.js';

/** Serializes fetches across instances when a tenant limit is set (see fetchAndClaimBatch). */
const FETCH_LOCK_KEY = 0x6167_7275_6e73; // "agruns"

export interface FetchBatch {
  /** The runs queue's job table (ensureRunsQueue). */
  table: string;
  /** The route keys to fetch, in this order, until the batch is full. */
  keys: number[];
  batchSize: number;
  /** Most active runs per tenant; null: no limit. */
  groupLimit: number | null;
  /** The agents this instance can run: the only runs it claims. */
  agentNames: string[];
  /** agentpg_runs is distributed by Citus: fetch and claim are two statements of one transaction. */
  distributed: boolean;
}

/**
 * One fetch of the worker (worker.ts fetchAndStart): a fetch-and-claim statement per route key
 * (sql/fetchAndClaimRuns.ts), each durable at its own COMMIT. A statement that fails after earlier
 * ones committed does not lose them: their runs are claimed and start; the error is reported and
 * the worker's next fetch goes on.
 *
 * With a tenant limit, the statements run in ONE transaction that first takes a transaction-level
 * advisory lock shared by every instance: the fetch counts a tenant's active jobs inside its
 * statement, and two fetches running at the same moment on two instances would each see the
 * other's claims as not yet made and could together exceed the limit. Durable at its COMMIT then.
 * On Citus too, where fetch and claim are two statements (fetchAndClaimRuns.ts).
 */
export async function fetchAndClaimBatch(
  rt: Pick<Runtime, 'instanceId' | 'reportError'>,
  client: PoolClient,
  db: Queryable,
  batch: FetchBatch,
): Promise<ClaimedRunJob[]> {
  const jobs: ClaimedRunJob[] = [];
  const inTransaction = batch.groupLimit !== null || batch.distributed;
  try {
    if (inTransaction) {
      await client.query('BEGIN');
      await client.query('select pg_advisory_xact_lock($1)', [FETCH_LOCK_KEY]);
    }
    for (const key of batch.keys) {
      if (jobs.length >= batch.batchSize) break;
      jobs.push(
        ...(await fetchAndClaimRuns(
          db,
          {
            table: batch.table,
            routeKey: key,
            limit: batch.batchSize - jobs.length,
            groupLimit: batch.groupLimit,
            agentNames: batch.agentNames,
            instanceId: rt.instanceId,
          },
          batch.distributed,
        )),
      );
    }
    if (inTransaction) await client.query(jobs.length > 0 ? 'COMMIT' : 'ROLLBACK');
    return jobs;
  } catch (err) {
    if (inTransaction) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    if (jobs.length === 0) throw err;
    rt.reportError(err, 'run fetch');
    return jobs;
  }
}

/**
 * Jobs fetched without a claim. A job of an agent this instance cannot run (only on a route key
 * collision, or a job written before routing: routing.ts) goes back, to retry with backoff, for an
 * instance that can. A job whose run is already final (cancelled while queued, failed by cleanup)
 * or gone is done: deleted, not executed. Both fenced on the fetched attempt; if this fails or the
 * process dies first, the job's heartbeat lapses and it is fetched again. Returns how many were
 * foreign.
 */
export async function settleUnclaimedJobs(
  rt: Pick<Runtime, 'boss' | 'registry' | 'instanceId' | 'reportError'>,
  db: Queryable,
  jobs: ClaimedRunJob[],
): Promise<number> {
  if (jobs.length === 0) return 0;
  const ref = (j: ClaimedRunJob): JobAttempt => ({ id: j.id, retryCount: j.retryCount });
  const foreign = jobs.filter((j) => !rt.registry.isCapable(j.data.agentName)).map(ref);
  const stale = jobs.filter((j) => rt.registry.isCapable(j.data.agentName)).map(ref);
  try {
    if (foreign.length > 0)
      await rt.boss.fail(
        RUNS_QUEUE,
        foreign,
        { reason: `agent not registered on instance ${rt.instanceId}` },
        { db: bossDb(db) },
      );
    if (stale.length > 0) await rt.boss.deleteJob(RUNS_QUEUE, stale, { db: bossDb(db) });
  } catch (err) {
    rt.reportError(err, 'settling fetched jobs');
  }
  return foreign.length;
}
