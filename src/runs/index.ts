export { AgentHandle, RunsApi, SessionsApi, type MessagePage, type MessagePageOptions } from './api.js';
export { ApprovalsApi, type Decision, type PendingApproval } from './approvals.js';
export { RUNS_QUEUE } from './queueName.js';
export { RunsService } from './service.js';
export type { StateChange } from './channels.js';
// The runs' writes the cluster's cleanup pass makes (it never writes agentpg_runs itself).
export { detachRunFromInstance } from './sql/detachRunFromInstance.js';
export { makeRunJobDue } from './sql/makeRunJobDue.js';
export { failRunOfLostInstance, INSTANCE_LOST_TYPE } from './sql/failRunOfLostInstance.js';
export { listUnroutableAgents, type UnroutableAgent } from './sql/unroutableRuns.js';
export { failStuckRuns, RUN_TIMED_OUT_MESSAGE, RUN_TIMED_OUT_TYPE, type StuckRun } from './sql/failStuckRuns.js';
export type { StoredMessage } from './types.js';
export type {
  EnqueueOptions,
  NewSessionOptions,
  Run,
  RunEvent,
  RunResult,
  RunTotals,
  RunState,
  Session,
  WaitOptions,
} from './types.js';
export { RUN_STEP_NAMES, type RunStepName, type RunStepInfo, type RunStepHook } from './stepTypes.js';
