export { AgentPG, AGENTPG_VERSION } from './client.js';
export type { AgentPGConfig } from './config.js';
export { AgentPGError, ConfigError, DatabaseUnavailableError, NotFoundError } from './errors.js';
export { defineAgent, type AgentDefinition } from './model/agent.js';
export { defineTool, type ToolDefinition, type ToolContext } from './model/tool.js';
export type {
  LongRunningKind,
  LongRunningContext,
  LongRunningAgentInfo,
  OwnershipOptions,
  OwnershipMetrics,
  AbortReason,
} from './ownership/types.js';
export type { StartLongRunningInput, ListLongRunningFilter } from './ownership/api.js';
export { StaleOwnerError } from './errors.js';
export { migrate } from './db/migrate.js';
export type { Logger } from './logger.js';
// [cluster]
export { installSignalHandlers, type SignalHandlerOptions } from './cluster/signals.js';
export type { HealthStatus } from './cluster/health.js';
export type { CleanupPassSummary } from './cluster/cleanup.js';
export type { ClientEvents } from './events/clientEvents.js';
export type {
  AgentPGEvent,
  EventType,
  EventMap,
  EventHandler,
  RunStateChangedEvent,
  InstanceRegisteredEvent,
  InstanceDeregisteredEvent,
  OwnershipChangedEvent,
  ResyncEvent,
} from './events/types.js';
// [runs]
export { RunFailedError, RunCancelledError, WaitTimeoutError, ValidationError } from './errors.js';
export { AgentHandle, RunsApi, SessionsApi, RUNS_QUEUE } from './runs/index.js';
export type { EnqueueOptions, NewSessionOptions, Run, RunEvent, RunResult, RunState, Session, WaitOptions, StoredMessage } from './runs/index.js';
export { RUN_STEP_NAMES, type RunStepName, type RunStepInfo, type RunStepHook } from './runs/index.js';
