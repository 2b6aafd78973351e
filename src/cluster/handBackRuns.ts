import type { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.js';
import { detachRunFromInstance, failRunOfLostInstance, makeRunJobDue } from '../runs/index.js';
import { findJobs } from './sql/findJobs.js';
import type { DeadInstanceRun } from './sql/findRunsOfDeadInstances.js';
import type { Queryable } from '../db/queryable.js';

/**
 * Hands the runs of a dead instance back to the queue, so a live instance resumes them now instead
 * of after pg-boss's own heartbeat/expiry monitor notices (tens of seconds to minutes). Returns how
 * many runs were handed back. The runs module may supply its own (config hook `handBackRuns` of
 * CleanupService); this default works against the tables and the pg-boss API alone.
 */
export type RunHandBack = (runs: DeadInstanceRun[]) => Promise<number>;

/**
 * Default hand-back, per run:
 *  1. `boss.fail` fenced on the dead worker's attempt (JobAttempt): pg-boss moves the job to
 *     `retry` (start now, retry delay permitting) — the same transition its heartbeat monitor would
 *     make, consuming one retry. The fence means a job already re-run by a live worker is untouched.
 *     Durable on pg-boss's own statement. Only the caller whose fail matched the attempt goes on:
 *     when several survivors see the same death at once (or a pass works from a stale list), the
 *     others find nothing to settle and neither touch the run nor count it.
 *     The job is then made due now (makeRunJobDue): its worker is dead, pg-boss's retry delay would
 *     only add seconds of nothing.
 *  2. The run keeps state `running` (it resumes; it is not failed for being interrupted) but its
 *     `instance_id` is cleared, fenced on the dead id, so a repeated pass cannot match it again
 *     while a live worker is picking the job up. The worker that resumes it sets its own id.
 *  3. If the job had no retries left, pg-boss made it `failed`: the run is then finalized as failed
 *     (error_type 'instance_lost') and the failed job removed, so it cannot block its session's
 *     later jobs under a key_strict_fifo queue (NOTES.md).
 */
export function defaultRunHandBack(boss: PgBoss, db: Queryable, logger: Logger): RunHandBack {
  return async (runs) => {
    let handedBack = 0;
    for (const run of runs) {
      const settled = await boss.fail(
        run.queue,
        { id: run.jobId, retryCount: run.retryCount },
        {
          message: `instance ${run.instanceId} stopped heartbeating; run handed back`,
        },
      );
      // pg-boss 12 declares CommandResponse empty; at runtime it carries `affected` (jobs settled).
      if ((settled as { affected?: number }).affected === 0) continue;
      const [job] = await findJobs(db, [run.jobId]);
      if (job && job.state === 'failed') {
        await failRunOfLostInstance(db, run.runId, run.instanceId);
        await boss.deleteJob(run.queue, run.jobId);
        logger.warn(
          { runId: run.runId, instanceId: run.instanceId },
          'run of a dead instance had no retries left: failed',
        );
        continue;
      }
      await makeRunJobDue(db, run.jobId);
      await detachRunFromInstance(db, run.runId, run.instanceId);
      handedBack++;
    }
    return handedBack;
  };
}
