export { AgentHandle, RunsApi, SessionsApi } from './api.js';
export { RUNS_QUEUE } from './queue.js';
export { RunsService } from './service.js';
export { CANCEL_CHANNEL, STATE_CHANNEL, type StateChange } from './channels.js';
export { STREAM_CHANNEL } from './sql/notifyStream.js';
export type { StoredMessage } from './sql/sessions.js';
export type { EnqueueOptions, NewSessionOptions, Run, RunEvent, RunResult, RunState, Session, WaitOptions } from './types.js';
export { RUN_STEP_NAMES, type RunStepName, type RunStepInfo, type RunStepHook } from './steps.js';
