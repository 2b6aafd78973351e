import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/connection.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE, type RunJobData } from './queue.js';
import { isUuid } from './rows.js';
import { findRunByIdempotencyKey, insertRun, lockSessionForEnqueue } from './sql/insertRun.js';
import { emitRunStep } from './steps.js';
import { wakeLocalWorker } from './worker.js';
import type { EnqueueOptions } from './types.js';

const MAX_PROMPT_BYTES = 1_000_000;

/**
 * Enqueues a run in ONE transaction: the run row (`queued`) and its pg-boss job (sent through our
 * connection with `{ db }`) commit together, and the run state trigger's NOTIFY wakes the workers
 * at that COMMIT. Nothing is half-enqueued: no run without a job, no job without a run. The same
 * idempotency key on the same session returns the first run and sends no job. Concurrent enqueues
 * into one session are serialized so their order is the order they committed in.
 */
export async function enqueueRun(
  rt: Runtime,
  agentName: string,
  sessionId: string,
  prompt: string,
  options: EnqueueOptions = {},
  /** Called inside the transaction, before COMMIT, with the id of a NEW run (not on an idempotent hit). */
  onNewRun?: (runId: string) => void,
): Promise<string> {
  if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new ValidationError('prompt must be a non-empty string');
  if (Buffer.byteLength(prompt) > MAX_PROMPT_BYTES) throw new ValidationError(`prompt is larger than ${MAX_PROMPT_BYTES} bytes`);
  const key = options.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 255)) {
    throw new ValidationError('idempotencyKey must be a string of 1 to 255 characters');
  }
  if (options.metadata !== undefined && (typeof options.metadata !== 'object' || options.metadata === null || Array.isArray(options.metadata))) {
    throw new ValidationError('metadata must be an object');
  }
  for (let tries = 1; ; tries++) {
    let created = false;
    try {
      // Durable at this transaction's COMMIT (run row + pg-boss job); a crash before it leaves nothing.
      const runId = await withTransaction(rt.pool, async (tx) => {
        const { startedTooEarly } = await lockSessionForEnqueue(tx, sessionId);
        if (startedTooEarly && tries < MAX_ORDER_RETRIES) throw new RetryEnqueue();
        const jobId = randomUUID();
        const run = await insertRun(tx, { sessionId, agentName, prompt, idempotencyKey: key, metadata: options.metadata ?? {}, jobId });
        if (!run) {
          const existing = key ? await findRunByIdempotencyKey(tx, sessionId, key) : null;
          if (existing) return existing;
          throw new NotFoundError('session', sessionId);
        }
        const data: RunJobData = { runId: run.id, agentName };
        const sent = await rt.boss.send(RUNS_QUEUE, data, {
          id: jobId,
          // key_strict_fifo: one session's runs start in order and never overlap.
          singletonKey: sessionId,
          // groupConcurrency (the tenant limit) counts active jobs per group.
          group: { id: run.tenantId },
          db: bossDb(tx),
        });
        if (!sent) throw new Error(`pg-boss did not accept the job of run ${run.id}`);
        onNewRun?.(run.id);
        created = true;
        return run.id;
      });
      if (created) {
        wakeLocalWorker(rt, runId);
        await emitRunStep(rt, 'enqueued', { runId, attempt: 0, iteration: 0 });
      }
      return runId;
    } catch (err) {
      if (err instanceof RetryEnqueue) continue;
      throw err;
    }
  }
}

/** A concurrent enqueue of the same session committed first: start over (rolled back, nothing sent). */
class RetryEnqueue extends Error {}
const MAX_ORDER_RETRIES = 20;
