import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { enqueueBatcherOf } from './enqueueBatcher.js';
import { isUuid } from './rows.js';
import { emitRunStep } from './steps.js';
import { wakeLocalWorker } from './worker.js';
import type { EnqueueOptions } from './types.js';

const MAX_PROMPT_BYTES = 1_000_000;

/**
 * Enqueues a run: the run row (`queued`) and its pg-boss job (inserted through our connection
 * with `{ db }`) commit in ONE transaction, shared with the client's concurrent enqueues (group
 * commit, src/runs/enqueueBatcher.ts), and the run state trigger's NOTIFY wakes the workers at
 * that COMMIT. Returns only after that COMMIT. Nothing is half-enqueued: no run without a job, no
 * job without a run. The same idempotency key on the same session returns the first run and
 * inserts no job. Concurrent enqueues into one session are serialized so their order is the order
 * they committed in.
 */
export async function enqueueRun(
  rt: Runtime,
  agentName: string,
  sessionId: string,
  prompt: string,
  options: EnqueueOptions = {},
  /**
   * Called inside the transaction, before COMMIT, with the id of a NEW run (not on an idempotent
   * hit); called again with another id if that transaction did not commit and the call was retried.
   */
  onNewRun?: (runId: string) => void,
): Promise<string> {
  if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new ValidationError('prompt must be a non-empty string');
  const promptBytes = Buffer.byteLength(prompt);
  if (promptBytes > MAX_PROMPT_BYTES) throw new ValidationError(`prompt is larger than ${MAX_PROMPT_BYTES} bytes`);
  const key = options.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 255)) {
    throw new ValidationError('idempotencyKey must be a string of 1 to 255 characters');
  }
  if (options.metadata !== undefined && (typeof options.metadata !== 'object' || options.metadata === null || Array.isArray(options.metadata))) {
    throw new ValidationError('metadata must be an object');
  }
  const outcome = await enqueueBatcherOf(rt).submit({
    // One spelling per session: the batcher groups by it and it is the job's singletonKey.
    sessionId: sessionId.toLowerCase(),
    agentName,
    prompt,
    promptBytes,
    idempotencyKey: key,
    metadata: options.metadata ?? {},
    jobId: randomUUID(),
    onNewRun,
  });
  if (outcome.kind === 'sessionNotFound') throw new NotFoundError('session', sessionId);
  if (outcome.kind === 'created') {
    wakeLocalWorker(rt, outcome.runId);
    await emitRunStep(rt, 'enqueued', { runId: outcome.runId, attempt: 0, iteration: 0 });
  }
  return outcome.runId;
}
