export { AgentPG, AGENTPG_VERSION } from './client.js';
export type { AgentPGConfig } from './config.js';
export { AgentPGError, ConfigError, DatabaseUnavailableError, NotFoundError } from './errors.js';
export { defineAgent, type AgentDefinition } from './model/agent.js';
export { defineTool, type ToolDefinition, type ToolContext } from './model/tool.js';
// [mcp]
export type { McpServerConfig, McpStdioTransportConfig, McpHttpTransportConfig } from './mcp/config.js';
export { McpUnavailableError } from './mcp/errors.js';
// [costs]
export { DEFAULT_PRICES, type ModelPrice, type PriceTable } from './costs/prices.js';
export { BudgetExceededError, type Budgets, type BudgetLimit } from './costs/budgets.js';
export type {
  LongRunningKind,
  LongRunningContext,
  LongRunningAgentInfo,
  LongRunningAgentFailure,
  OwnershipOptions,
  OwnershipMetrics,
  AbortReason,
} from './ownership/types.js';
export type { StartLongRunningInput, ListLongRunningFilter } from './ownership/api.js';
export { StaleOwnerError } from './errors.js';
export { migrate } from './db/migrate.js';
export type { CallerTransaction } from './db/callerTransaction.js';
export type { Logger } from './logger.js';
// [cluster]
export { installSignalHandlers, type SignalHandlerOptions } from './cluster/signals.js';
export type { HealthStatus } from './cluster/health.js';
export type { CleanupPassSummary } from './cluster/cleanupSummary.js';
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
export {
  RunFailedError,
  RunCancelledError,
  WaitTimeoutError,
  ValidationError,
  AlreadyDecidedError,
  SessionBusyError,
} from './errors.js';
// Each public name from the file that defines it, never from src/runs/index.ts (the runs' writes
// the cluster module makes; see tsconfig.build.json).
export { AgentHandle, RunsApi, SessionsApi, type MessagePage, type MessagePageOptions } from './runs/api.js';
export { ApprovalsApi, type Decision, type PendingApproval } from './runs/approvals.js';
export { InputsApi, type Answer, type PendingInput } from './runs/inputs.js';
export { requestInput, DEFAULT_INPUT_TIMEOUT_MS, type InputRequest } from './model/inputRequest.js';
export { inheritedContext, MAX_RUN_CONTEXT_BYTES } from './runs/runContext.js';
export { RUNS_QUEUE } from './runs/queueName.js';
// Every type of runs/types.ts is public: Run, Session, RunEvent, the options and results.
export type * from './runs/types.js';
export { RUN_STEP_NAMES, type RunStepName, type RunStepInfo, type RunStepHook } from './runs/stepTypes.js';
export type {
  AgentCompactionSettings,
  Compaction,
  CompactionInput,
  CompactionStrategy,
} from './runs/compactionTypes.js';
export {
  hybridStrategy,
  pruneStrategy,
  summarizeStrategy,
  SUMMARIZER_SYSTEM,
  SUMMARY_HEADER,
} from './runs/compactionStrategies.js';
// [access] API keys of the HTTP service: create, list, revoke, verify (also the CLI's `agentpg keys`).
export { createApiKey, verifyApiKey, listApiKeys, revokeApiKey, seesTenant, ROLES } from './access/index.js';
export type { CreateApiKeyInput, ApiKeyInfo, Principal, Role } from './access/index.js';
// [retention] Deleting or archiving old sessions; holds and export (client.sessions).
export type { RetentionConfig } from './retention/settings.js';
export type { RetentionPassSummary } from './retention/pass.js';
export type { RetiredCounts } from './retention/sql/retentionPasses.js';
export { SessionsWithRetentionApi } from './retention/sessionsApi.js';
export { SESSION_EXPORT_FORMAT, type SessionExport, type SessionHold } from './retention/sessions.js';
