export { AgentPG, AGENTPG_VERSION } from './client.js';
export type { AgentPGConfig } from './config.js';
export { AgentPGError, ConfigError, DatabaseUnavailableError, NotFoundError } from './errors.js';
export { defineAgent, type AgentDefinition } from './model/agent.js';
export { defineTool, type ToolDefinition, type ToolContext } from './model/tool.js';
export type { LongRunningKind, LongRunningContext } from './ownership/types.js';
export { migrate } from './db/migrate.js';
export type { Logger } from './logger.js';
