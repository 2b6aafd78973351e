import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE } from './queueName.js';
import { setRunJobStart } from './sql/setRunJobStart.js';
import { countRateLimitDeferral } from './sql/countRateLimitDeferral.js';

/**
 * [ratelimit] The run's next model call must wait longer for capacity than a worker slot should
 * be held (src/ratelimit/limiter.ts): ONE transaction counts the deferral on the run (fenced on
 * this claim), fails its pg-boss job back to `retry` and makes it due when capacity is expected.
 * Durable at COMMIT (step `rate_limit_deferred`); the slot is free. The run stays `running`; the
 * next claim resumes it from its last step (the model call was never made, so nothing repeats).
 * A crash before COMMIT changes nothing: the job's missing heartbeat hands the run back as usual.
 */
export async function deferForRateLimit(
  rt: Runtime,
  run: { id: string; attempt: number },
  job: JobAttempt,
  waitMs: number,
): Promise<{ dueAt: Date } | 'gone' | 'cancel'> {
  return withTransaction(rt.pool, async (tx) => {
    const counted = await countRateLimitDeferral(tx, run.id, run.attempt);
    if (!counted) return 'gone';
    if (counted.cancelRequested) return 'cancel';
    await rt.boss.fail(RUNS_QUEUE, job, { reason: 'waiting for model capacity' }, { db: bossDb(tx) });
    const dueAt = new Date(Date.now() + waitMs);
    await setRunJobStart(tx, job.id, dueAt);
    return { dueAt };
  });
}
