import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { callerQueryable } from '../db/callerTransaction.js';
import { enqueueBatcherOf } from './enqueueBatcher.js';
import { enqueueRunInTransaction } from './sql/enqueueRunInTransaction.js';
import { isUuid } from './rows.js';
import { applyMultitaskStrategies, checkMultitaskStrategy } from './multitask.js';
import { lockSessionsForEnqueue, MAX_PROMPT_BYTES } from './sql/insertRuns.js';
import { SessionBusyError } from '../errors.js';
import { validateRunContext } from './runContext.js';
import { emitRunStep } from './steps.js';
import { traceEnqueue } from '../tracing/enqueueSpan.js';
import { setRunTraceParent } from '../tracing/sql/setRunTraceParent.js';
import { parseTraceParent } from '../tracing/traceParent.js';
import { setRunBatchMode } from './sql/setRunBatchMode.js';
import { wakeLocalWorker } from './worker.js';
import type { EnqueueOptions } from './types.js';

/**
 * Enqueues a run: the run row (`queued`) and its pg-boss job (inserted through our connection
 * with `{ db }`) commit in ONE transaction, shared with the client's concurrent enqueues (group
 * commit, src/runs/enqueueBatcher.ts; a lone call is one autocommit statement that does both),
 * and the run state trigger's NOTIFY wakes the workers at that COMMIT. Returns only after that COMMIT. Nothing is half-enqueued: no run without a job, no
 * job without a run. The same idempotency key on the same session returns the first run and
 * inserts no job. Concurrent enqueues into one session are serialized so their order is the order
 * they committed in.
 *
 * With `options.db` (the caller's open transaction) the run and its job are written there instead,
 * in one statement (enqueueRunInTransaction), and exist if and only if the caller commits; the
 * call returns before that COMMIT, so the run cannot have started yet.
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
  if (typeof prompt !== 'string' || prompt.trim() === '')
    throw new ValidationError('prompt must be a non-empty string');
  const promptBytes = Buffer.byteLength(prompt);
  if (promptBytes > MAX_PROMPT_BYTES) throw new ValidationError(`prompt is larger than ${MAX_PROMPT_BYTES} bytes`);
  const key = options.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 255)) {
    throw new ValidationError('idempotencyKey must be a string of 1 to 255 characters');
  }
  if (
    options.metadata !== undefined &&
    (typeof options.metadata !== 'object' || options.metadata === null || Array.isArray(options.metadata))
  ) {
    throw new ValidationError('metadata must be an object');
  }
  const context = validateRunContext(options.context);
  const multitaskStrategy =
    checkMultitaskStrategy(options.multitaskStrategy, 'multitaskStrategy') ??
    rt.registry.agents.get(agentName)?.multitaskStrategy;
  if (options.batch !== undefined && typeof options.batch !== 'boolean')
    throw new ValidationError('batch must be true or false');
  const batchMode = options.batch ?? null;
  if (options.traceParent !== undefined && parseTraceParent(options.traceParent) === null)
    throw new ValidationError(
      'traceParent must be a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>',
    );
  // One spelling per session: the batcher groups by it and it is the job's singletonKey.
  const session = sessionId.toLowerCase();
  // The run's trace context is stored with the run, in the same statement or transaction.
  return traceEnqueue(agentName, sessionId, options.traceParent, async (traceParent) => {
    if (options.db !== undefined) {
      // The caller's transaction: no group commit (its COMMIT is the caller's), one statement
      // (more when there is a trace context or a run context to store, or a multitask strategy
      // other than `enqueue`: the session lock, then the strategy; all commit with the caller's).
      const tx = callerQueryable(options.db);
      if (multitaskStrategy !== undefined && multitaskStrategy !== 'enqueue') {
        await lockSessionsForEnqueue(tx, [session]);
        const {
          outcomes: [s],
        } = await applyMultitaskStrategies(
          tx,
          [{ sessionId: session, prompt, idempotencyKey: key, multitaskStrategy }],
          MAX_PROMPT_BYTES,
        );
        if (s.kind === 'busy') throw new SessionBusyError(session, s.runId);
        if (s.kind === 'merged' || s.kind === 'existing') return { runId: s.runId, existing: true };
      }
      const runId = await enqueueRunInTransaction(tx, {
        sessionId: session,
        agentName,
        prompt,
        idempotencyKey: key,
        metadata: options.metadata ?? {},
        context,
      });
      if (traceParent !== null) await setRunTraceParent(tx, runId, traceParent);
      if (batchMode !== null) await setRunBatchMode(tx, runId, batchMode);
      return { runId, existing: false };
    }
    const outcome = await enqueueBatcherOf(rt).submit({
      sessionId: session,
      agentName,
      prompt,
      promptBytes,
      idempotencyKey: key,
      metadata: options.metadata ?? {},
      context,
      traceParent,
      batchMode,
      jobId: randomUUID(),
      onNewRun,
      multitaskStrategy,
    });
    if (outcome.kind === 'sessionNotFound') throw new NotFoundError('session', sessionId);
    if (outcome.kind === 'busy') throw new SessionBusyError(session, outcome.runId);
    if (outcome.kind === 'created') {
      // The step first, then this process's worker: nothing of this process claims the run before
      // onRunStep('enqueued') has returned (a crash inside it is a crash between the two steps).
      await emitRunStep(rt, 'enqueued', { runId: outcome.runId, attempt: 0, iteration: 0 });
      wakeLocalWorker(rt, outcome.runId, agentName);
    }
    return { runId: outcome.runId, existing: outcome.kind !== 'created' };
  });
}
