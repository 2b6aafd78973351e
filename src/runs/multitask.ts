import { ValidationError } from '../errors.js';
import type { MultitaskStrategy } from './types.js';
import type { Queryable } from '../db/queryable.js';
import { mergePrompt, runsInFlight } from './sql/multitask.js';
import { findRunsByIdempotencyKey, idempotencyLookupKey } from './sql/insertRuns.js';
import { requestCancel } from './sql/requestCancel.js';

/**
 * What a new prompt does while its session has a run in flight (queued, running or
 * awaiting_input); the names follow LangGraph's `multitask_strategy`:
 * - `enqueue` (default): it runs after the runs before it (the session's FIFO);
 * - `reject`: SessionBusyError (HTTP 409), nothing is written;
 * - `interrupt`: the runs in flight are cancelled (what they stored is kept: their messages and
 *   tool results), then the new one runs;
 * - `merge`: folded into the session's queued run that has not started yet (one turn with both
 *   prompts, the id of that run is returned); enqueued as usual when there is none.
 */
export type { MultitaskStrategy };
export const MULTITASK_STRATEGIES: readonly MultitaskStrategy[] = ['enqueue', 'reject', 'interrupt', 'merge'];

export function checkMultitaskStrategy(value: unknown, what: string): MultitaskStrategy | undefined {
  if (value === undefined) return undefined;
  if (!MULTITASK_STRATEGIES.includes(value as MultitaskStrategy))
    throw new ValidationError(`${what} must be one of ${MULTITASK_STRATEGIES.join(', ')}`);
  return value as MultitaskStrategy;
}

/** What an enqueue does after its strategy ran: insert its run, or not (busy / merged into another). */
export type MultitaskOutcome =
  | { kind: 'insert' }
  | { kind: 'busy'; runId: string }
  | { kind: 'merged'; runId: string }
  /** Its idempotency key names a run already: that run, and no strategy applied (a retry). */
  | { kind: 'existing'; runId: string };

/**
 * Applies each request's strategy inside the enqueue transaction, after lockSessionsForEnqueue
 * (so two instances enqueueing into one session at once are serialized and the second sees the
 * first's run): at most one request per session (the batcher's rule). `enqueue` requests cost no
 * statement. The cancels and merges commit with the transaction: durable at its COMMIT, with the
 * new run (step `enqueued`), or not at all. Results are aligned with `requests`.
 */
export async function applyMultitaskStrategies(
  tx: Queryable,
  requests: Array<{
    sessionId: string;
    prompt: string;
    idempotencyKey?: string | null;
    multitaskStrategy?: MultitaskStrategy;
  }>,
  maxPromptBytes: number,
): Promise<{ outcomes: MultitaskOutcome[]; cancelledJobs: string[] }> {
  const out: MultitaskOutcome[] = requests.map(() => ({ kind: 'insert' }));
  const cancelledJobs: string[] = [];
  const active = requests.filter((r) => r.multitaskStrategy !== undefined && r.multitaskStrategy !== 'enqueue');
  if (active.length === 0) return { outcomes: out, cancelledJobs };
  // A retried call (same idempotency key) gets its run back: it must not reject itself, cancel its
  // own run, or fold its prompt in twice.
  const keyed = active.filter((r) => r.idempotencyKey);
  const existing =
    keyed.length > 0
      ? await findRunsByIdempotencyKey(
          tx,
          keyed.map((r) => ({ sessionId: r.sessionId, key: r.idempotencyKey! })),
        )
      : new Map<string, string>();
  const inFlight = await runsInFlight(
    tx,
    active.map((r) => r.sessionId),
  );
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i];
    const runs = inFlight.get(r.sessionId) ?? [];
    const known = r.idempotencyKey ? existing.get(idempotencyLookupKey(r.sessionId, r.idempotencyKey)) : undefined;
    if (known) {
      out[i] = { kind: 'existing', runId: known };
      continue;
    }
    if (runs.length === 0 || !r.multitaskStrategy) continue;
    if (r.multitaskStrategy === 'reject') {
      out[i] = { kind: 'busy', runId: runs[0].id };
    } else if (r.multitaskStrategy === 'interrupt') {
      for (const run of runs) {
        // The same statement as client.runs.cancel: queued → cancelled, running → cancel requested
        // (its instance aborts it at our COMMIT's NOTIFY), awaiting_input → re-queued to end.
        const res = await requestCancel(tx, run.id);
        if (res?.state === 'cancelled' && res.jobId) cancelledJobs.push(res.jobId);
      }
    } else if (r.multitaskStrategy === 'merge') {
      const last = runs[runs.length - 1];
      if (last.state === 'queued' && last.neverStarted && (await mergePrompt(tx, last.id, r.prompt, maxPromptBytes)))
        out[i] = { kind: 'merged', runId: last.id };
    }
  }
  // The jobs of queued runs cancelled here: the caller deletes them AFTER its COMMIT, as
  // client.runs.cancel does (if it cannot, the worker that fetches one deletes it). Not in this
  // transaction: it holds the run row, and a worker's fetch holds the job row and then claims
  // the run row, so deleting the job here could deadlock with that fetch.
  return { outcomes: out, cancelledJobs };
}
