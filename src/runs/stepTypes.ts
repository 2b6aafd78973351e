// The public half of src/runs/steps.ts: types only, importing nothing, so the published
// declarations of config.onRunStep never pull in the runtime (and through it pg-boss).

/**
 * The durable steps of a run, in order, each with the statement that makes it durable. Between two
 * of them nothing is durable, so a crash anywhere between step N and step N+1 leaves the database
 * exactly as it was right after step N, and the next instance to claim the run resumes from there
 * (test/runs/crashPoints.test.ts kills a process at each of them).
 *
 * - `enqueued`: the COMMIT of the enqueue batch transaction that carried the run
 *   (src/runs/enqueueBatcher.ts runBatch): the run row (`queued`) and its pg-boss job together.
 *   Before it, nothing exists. Reported in the process that enqueued.
 * - `claimed`: the COMMIT of the fetch-and-claim statement (worker.ts fetchAndStart,
 *   sql/fetchAndClaimRuns.ts; with a tenant limit, of the fetch transaction that holds it): the job
 *   is active, the run `running` on this instance with attempts + 1 (the fencing token of every
 *   later write), and on the first claim the prompt is stored as the run's first message. Reported
 *   again on every re-claim after a crash (info.attempt > 1).
 * - `tool_turn_stored`: the tool-turn transaction's COMMIT (modelTurn.ts storeToolTurn): the previous
 *   turn's tool_result message, the assistant tool_use message, one `pending` agentpg_tool_calls row
 *   per tool_use, the model call's tokens and tool_iterations + 1.
 * - `awaiting_input`: the suspend transaction's COMMIT (approvalGate.ts suspendForApproval), only
 *   for a turn with calls that need approval: running → awaiting_input, the job back in `retry`
 *   due at the approval deadline. The execution ends there; a decision (agentpg_decide_tool_call)
 *   re-queues the run, and the next claim goes on from `tool_turn_stored` with the decisions read.
 * - `children_started`: the transaction that starts child runs (childRuns.ts startChildRuns), only
 *   for a turn that calls agents (agents as tools): per call without a child, a child session,
 *   a `queued` child run and its job; the calls `running`. Then, after the turn's tools ran, the
 *   parent suspends (`awaiting_input`, same as for approvals: running → awaiting_input, job back in
 *   `retry`) unless every child has ended; the last child's end makes its job due again.
 * - `tools_started`: the startToolCalls UPDATE (autocommit, sql/toolCalls.ts): every call of the
 *   turn without a stored result is `running` with attempts + 1, before any of them executes.
 * - `tool_result_stored`: the finishToolCall UPDATE (autocommit), once per call (info.toolUseId):
 *   its output. From this commit on the call is never executed again.
 * - `compacted`: the compaction transaction's COMMIT (compaction.ts compactIfOverBudget,
 *   sql/insertCompaction.ts), before a model call whose request would reach the agent's compaction
 *   trigger: one agentpg_compactions row (fenced on the claim) whose replacement stands in for the
 *   archived messages, and its stream event. Before it the summarizer call is repeated on resume.
 * - `input_requested`: instead of `tool_result_stored` for a call whose tool returned
 *   requestInput() (src/runs/inputRequests.ts, autocommit UPDATE, info.toolUseId): the call is
 *   `awaiting_input` with its question and is never executed again; the answer
 *   (agentpg_answer_input) becomes its output. The turn then suspends (`awaiting_input`).
 * - `rate_limit_deferred`: the deferral transaction's COMMIT (rateLimitWait.ts deferForRateLimit),
 *   only when a model call must wait for cluster capacity longer than rateLimits.maxWaitInPlaceMs:
 *   the run's rate_limit_deferrals + 1 (fenced on the claim), its job back in `retry` due when
 *   capacity is expected. The execution ends there; the next claim resumes from the step before.
 * - `batch_requested`: [batch] instead of a model call, for a batch-mode run (src/batch/runCall.ts):
 *   the suspend transaction's COMMIT: the agentpg_batch_requests row (`pending`, info.customId),
 *   running → awaiting_input, the job back in `retry`. The poll pass sends it in a batch and, once
 *   the result is stored, resumes the run; the next claim uses the stored result as the model's
 *   answer (and goes on to `tool_turn_stored` or `finalized`). Never sent twice: src/batch/pass.ts.
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
export type RunStepName =
  | 'enqueued'
  | 'claimed'
  | 'tool_turn_stored'
  | 'awaiting_input'
  | 'children_started'
  | 'tools_started'
  | 'tool_result_stored'
  | 'input_requested'
  | 'compacted'
  | 'rate_limit_deferred'
  | 'batch_requested'
  | 'finalized';

export const RUN_STEP_NAMES: readonly RunStepName[] = [
  'enqueued',
  'claimed',
  'tool_turn_stored',
  'awaiting_input',
  'children_started',
  'tools_started',
  'tool_result_stored',
  'input_requested',
  'compacted',
  'rate_limit_deferred',
  'batch_requested',
  'finalized',
];

export interface RunStepInfo {
  runId: string;
  /** The run's claim number (agentpg_runs.attempts): 0 at `enqueued`, 1 on the first execution, higher after a resume. */
  attempt: number;
  /** The run's tool_iterations after the step: 0 until the first tool turn is stored. */
  iteration: number;
  /** `tool_result_stored`, `input_requested`: the tool_use id of the call (also its idempotency key). */
  toolUseId?: string;
  /** `batch_requested`: the custom id of the run's batch request. */
  customId?: string;
  /** `finalized`: the state the run ended in. */
  state?: 'completed' | 'failed' | 'cancelled';
}

/**
 * config.onRunStep: called right after each durable step commits, and awaited, so a tracer (or a
 * test) acts at exactly that point; keep it quick, it delays the run. A throw is reported to
 * onError and never fails the run.
 */
export type RunStepHook = (step: RunStepName, info: RunStepInfo) => void | Promise<void>;
