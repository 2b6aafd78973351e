import { RunSuspended, suspendForApproval } from './approvalGate.js';
import { suspendForChildren } from './childRuns.js';
import { ExecutionAborted, resultsOf, type ExecutionState, type OpenCalls } from './executionState.js';
import { deferForRateLimit } from './rateLimitWait.js';
import { listToolCallsOfRuns } from './sql/toolCalls.js';

// The waits of an execution: for a person (approvals, answers), for child runs, for model capacity.
// Each suspends the run (its job set aside, the worker slot freed: the execution ends with
// RunSuspended), or goes on when what it waited for came meanwhile.

/**
 * Calls of the open turn wait for a person's decision or answer: suspend the run (approvalGate.ts), or,
 * when every decision came in meanwhile, re-read the calls and go on.
 */
export async function awaitApprovals(x: ExecutionState, open: OpenCalls): Promise<void> {
  const res = await suspendForApproval(x.rt, { id: x.run.id, attempt: x.attempt }, x.job, open.rows, x.stream);
  if (res === 'gone') throw x.refused();
  if (res === 'cancel') throw new ExecutionAborted('cancel');
  if (typeof res === 'object') {
    wakeWorkerAt(x, res.dueAt);
    await x.step('awaiting_input');
    throw new RunSuspended();
  }
  const rows = (await listToolCallsOfRuns(x.rt.pool, [x.run.id])).get(x.run.id) ?? [];
  open.rows = rows.filter((r) => r.messageId === open.messageId);
  // Answers (and timed-out questions) are stored results like any other.
  for (const [id, r] of resultsOf(open.rows)) open.results.set(id, r);
}

/**
 * [ratelimit] The model call must wait for capacity longer than a slot should be held: the run's
 * job goes back to `retry`, due in `waitMs` (rateLimitWait.ts: step `rate_limit_deferred`), and
 * this execution ends like a suspended one.
 */
export async function deferForCapacity(x: ExecutionState, waitMs: number): Promise<never> {
  const res = await deferForRateLimit(x.rt, { id: x.run.id, attempt: x.attempt }, x.job, waitMs);
  if (res === 'gone') throw x.refused();
  if (res === 'cancel') throw new ExecutionAborted('cancel');
  wakeWorkerAt(x, res.dueAt);
  await x.step('rate_limit_deferred');
  throw new RunSuspended();
}

/**
 * The run's job comes due at `at` with no notification (a deadline, capacity expected): this
 * instance's worker fetches then, rather than at its next backstop poll.
 */
function wakeWorkerAt(x: ExecutionState, at: Date): void {
  x.rt.runs.localWorker?.wakeAt(at, x.run.agentName);
}

/** Children of the open turn still run: suspend until the last one ends (childRuns.ts), or go on. */
export async function awaitChildren(x: ExecutionState, open: OpenCalls): Promise<void> {
  const res = await suspendForChildren(x.rt, { id: x.run.id, attempt: x.attempt }, x.job);
  if (res === 'gone') throw x.refused();
  if (res === 'cancel') throw new ExecutionAborted('cancel');
  if (res === 'suspended') {
    await x.step('awaiting_input');
    throw new RunSuspended();
  }
  const rows = (await listToolCallsOfRuns(x.rt.pool, [x.run.id])).get(x.run.id) ?? [];
  for (const [id, r] of resultsOf(rows.filter((c) => c.messageId === open.messageId))) open.results.set(id, r);
}
