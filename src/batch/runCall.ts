import type Anthropic from '@anthropic-ai/sdk';
import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from '../runs/db.js';
import { isRetryableBatchResult } from '../runs/failures.js';
import { ModelCallError } from '../runs/modelCall.js';
import { RUNS_QUEUE } from '../runs/queueName.js';
import { lockRunForSuspend } from '../runs/sql/lockRunForSuspend.js';
import { setRunJobStart } from '../runs/sql/setRunJobStart.js';
import { markAwaitingBatch } from '../runs/sql/markAwaitingBatch.js';
import { newCustomId } from './customId.js';
import { resolveBatchSettings } from './settings.js';
import { insertRequest } from './sql/insertRequest.js';
import { latestRequest, type BatchRequestRow } from './sql/latestRequest.js';

/**
 * The run side of batch mode: a model call of a batch-mode run (src/runs/modelTurn.ts). The call
 * is identified by the run and its turn (tool_iterations when it is made), so every execution of
 * the run asks for the same call and finds the same row:
 *
 * - a stored `succeeded` result: the message, used like a streamed one (the next step stores it);
 * - nothing yet, or a result worth another try: step `batch_requested`, ONE transaction (durable at
 *   its COMMIT): the run row locked under this claim, the request row (`pending`, a new custom id),
 *   running → awaiting_input, the job failed back to `retry` and set aside. The worker slot is free;
 *   the poll pass (pass.ts) sends the request in a batch, stores the result and resumes the run;
 * - a request still in a batch (woken for another reason, e.g. the set-aside time ran out): the
 *   same suspend without a new row;
 * - a result not worth another try: `failed` with a ModelCallError, permanent (src/runs/failures.ts).
 *
 * A crash before the suspend's COMMIT leaves no request: the next execution makes it. After it, the
 * request exists exactly once (unique (run_id, turn, try)), whatever happens to this process.
 */
export type BatchCallOutcome =
  | { kind: 'message'; message: Anthropic.Message; customId: string; request: BatchRequestRow }
  /** The result is not worth another try: the run fails with `error` (permanent, src/runs/failures.ts). */
  | { kind: 'failed'; error: ModelCallError; request: BatchRequestRow }
  | { kind: 'suspended'; customId: string }
  | { kind: 'gone' }
  | { kind: 'cancel' };

/** A batch wait's job is set aside this long: a batch ends within 24 h, then the run looks again. */
const SET_ASIDE_MS = 25 * 3600_000;

export async function batchModelCall(
  rt: Runtime,
  run: { id: string; attempt: number },
  job: JobAttempt,
  turn: number,
  params: Anthropic.MessageCreateParamsNonStreaming,
): Promise<BatchCallOutcome> {
  const { maxTries } = resolveBatchSettings(rt.config.batch);
  for (;;) {
    const latest = await latestRequest(rt.pool, run.id, turn);
    if (latest?.state === 'succeeded')
      return {
        kind: 'message',
        message: latest.result as Anthropic.Message,
        customId: latest.customId,
        request: latest,
      };
    const next = latest === null ? 1 : isEnded(latest) ? nextTryOf(latest, maxTries) : null;
    if (next instanceof ModelCallError) return { kind: 'failed', error: next, request: latest! };
    const nextTry = next;
    const res = await withTransaction(rt.pool, async (tx) => {
      const locked = await lockRunForSuspend(tx, run.id, run.attempt);
      if (!locked) return { kind: 'gone' as const };
      if (locked.cancelRequestedAt) return { kind: 'cancel' as const };
      // After the lock, in a statement of its own: a result stored meanwhile (the poll pass locks
      // the run row to resume it) is seen here, so the run never waits for a result it has.
      const now = await latestRequest(tx, run.id, turn);
      if ((now?.try ?? 0) !== (latest?.try ?? 0) || (now !== null && now.state !== latest?.state && isEnded(now)))
        return null;
      let customId = latest?.customId ?? '';
      if (nextTry !== null) {
        customId = newCustomId();
        await insertRequest(tx, { runId: run.id, turn, try: nextTry, customId, model: params.model, params });
      }
      await markAwaitingBatch(tx, run.id);
      await rt.boss.fail(RUNS_QUEUE, job, { reason: 'awaiting batch result' }, { db: bossDb(tx) });
      await setRunJobStart(tx, job.id, new Date(Date.now() + SET_ASIDE_MS));
      return { kind: 'suspended' as const, customId };
    });
    if (res) return res;
    // The request changed between the two reads: look again.
  }
}

function isEnded(r: BatchRequestRow): boolean {
  return r.state === 'succeeded' || r.state === 'errored' || r.state === 'canceled' || r.state === 'expired';
}

/** The next try after an ended request, or a permanent ModelCallError (src/runs/failures.ts decides). */
function nextTryOf(r: BatchRequestRow, maxTries: number): number | ModelCallError {
  const type = r.state as 'errored' | 'expired' | 'canceled';
  const error = (r.result as { error?: { type?: string; message?: string } } | null)?.error;
  const errorType = type === 'errored' ? (error?.type ?? 'api_error') : `batch_request_${type}`;
  const message =
    type === 'errored'
      ? (error?.message ?? errorType)
      : `the batch request was ${type} ${r.try} time(s) (batch.maxTries is ${maxTries})`;
  if (!isRetryableBatchResult(type, error?.type) || r.try >= maxTries)
    return new ModelCallError(errorType, message.slice(0, 2000), null);
  return r.try + 1;
}
