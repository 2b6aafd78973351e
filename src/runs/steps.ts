import type { Runtime } from '../runtime.js';

/**
 * The durable steps of a run, in order, each with the statement that makes it durable. Between two
 * of them nothing is durable, so a crash anywhere between step N and step N+1 leaves the database
 * exactly as it was right after step N, and the next instance to claim the run resumes from there
 * (test/runs/crashPoints.test.ts kills a process at each of them).
 *
 * - `enqueued`: the COMMIT of the enqueue batch transaction that carried the run
 *   (src/runs/enqueueBatcher.ts runBatch): the run row (`queued`) and its pg-boss job together.
 *   Before it, nothing exists. Reported in the process that enqueued.
 * - `claimed`: the fetch transaction's COMMIT (worker.ts fetchAndStart, sql/claimRuns.ts): the job
 *   is active, the run `running` on this instance with attempts + 1 (the fencing token of every
 *   later write), and on the first claim the prompt is stored as the run's first message. Reported
 *   again on every re-claim after a crash (info.attempt > 1).
 * - `tool_turn_stored`: the tool-turn transaction's COMMIT (executor.ts storeToolTurn): the previous
 *   turn's tool_result message, the assistant tool_use message, one `pending` agentpg_tool_calls row
 *   per tool_use, the model call's tokens and tool_iterations + 1.
 * - `tools_started`: the startToolCalls UPDATE (autocommit, sql/toolCalls.ts): every call of the
 *   turn without a stored result is `running` with attempts + 1, before any of them executes.
 * - `tool_result_stored`: the finishToolCall UPDATE (autocommit), once per call (info.toolUseId):
 *   its output. From this commit on the call is never executed again.
 * - `finalized`: the COMMIT of the finalize transaction the run was ended in (finalizer.ts; runs of
 *   one worker that finish together share it): the last tool_result message, the final assistant
 *   message, its tokens, running → completed|failed|cancelled (info.state) and the pg-boss job
 *   deleted, all or nothing per run.
 *
 * Deliberately not steps: the model call and a tool's execution are effects outside the database.
 * A crash after one of them and before the next commit repeats it: the model call is made again
 * (its tokens were never counted: tokens are stored with the assistant message they paid for), a
 * tool runs again with the same idempotency key (its tool_use id) and a higher ctx.attempt. The
 * tool_result user message has no commit of its own either: it is stored by the next
 * `tool_turn_stored` or `finalized` transaction, and rebuilt from agentpg_tool_calls on resume.
 */
export type RunStepName = 'enqueued' | 'claimed' | 'tool_turn_stored' | 'tools_started' | 'tool_result_stored' | 'finalized';

export const RUN_STEP_NAMES: readonly RunStepName[] = [
  'enqueued',
  'claimed',
  'tool_turn_stored',
  'tools_started',
  'tool_result_stored',
  'finalized',
];

export interface RunStepInfo {
  runId: string;
  /** The run's claim number (agentpg_runs.attempts): 0 at `enqueued`, 1 on the first execution, higher after a resume. */
  attempt: number;
  /** The run's tool_iterations after the step: 0 until the first tool turn is stored. */
  iteration: number;
  /** `tool_result_stored`: the tool_use id of the call (also its idempotency key). */
  toolUseId?: string;
  /** `finalized`: the state the run ended in. */
  state?: 'completed' | 'failed' | 'cancelled';
}

/**
 * config.onRunStep: called right after each durable step commits, and awaited, so a tracer (or a
 * test) acts at exactly that point; keep it quick, it delays the run. A throw is reported to
 * onError and never fails the run.
 */
export type RunStepHook = (step: RunStepName, info: RunStepInfo) => void | Promise<void>;

/** Calls the hook if one is configured; without one this is a property read and nothing else. */
export function emitRunStep(rt: Pick<Runtime, 'config' | 'reportError'>, step: RunStepName, info: RunStepInfo): Promise<void> | undefined {
  const hook = rt.config.onRunStep;
  if (!hook) return undefined;
  return (async () => {
    try {
      await hook(step, info);
    } catch (err) {
      rt.reportError(err, `onRunStep(${step})`);
    }
  })();
}
