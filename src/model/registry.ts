import { budgetLimitSchema } from '../costs/budgets.js';
import { ConfigError, NotFoundError } from '../errors.js';
import type { LongRunningKind } from '../ownership/types.js';
import { checkCompactionSettings } from '../runs/compactionSettings.js';
import type { AgentDefinition } from './agent.js';
import { TOOL_NAME, type ToolDefinition } from './tool.js';
import { checkAgentsAsTools, DEFAULT_MAX_AGENT_DEPTH } from './agentsAsTools.js';

/** The agents, tools and long-running kinds this instance can execute, checked at construction. */
export class Registry {
  readonly agents = new Map<string, AgentDefinition>();
  /**
   * Agents registered here although some of their tools are not: this instance can enqueue their
   * runs but never fetches them (capability routing, src/runs/routing.ts). Agent name → the tools
   * it lacks. The client logs one structured warning per agent at construction.
   */
  readonly missingTools = new Map<string, string[]>();
  readonly tools = new Map<string, ToolDefinition>();
  readonly longRunningKinds = new Map<string, LongRunningKind>();

  constructor(
    agents: AgentDefinition[] = [],
    tools: ToolDefinition[] = [],
    kinds: LongRunningKind[] = [],
    options: { maxAgentDepth?: number } = {},
  ) {
    for (const tool of tools) this.addTool(tool);
    for (const agent of agents) {
      if (!agent.name || agent.name.length > 255)
        throw new ConfigError('every agent needs a name (at most 255 characters)');
      if (!agent.model) throw new ConfigError(`agent "${agent.name}" needs a model`);
      if (this.agents.has(agent.name)) throw new ConfigError(`agent "${agent.name}" is registered twice`);
      if (
        agent.multitaskStrategy !== undefined &&
        !['enqueue', 'reject', 'interrupt', 'merge'].includes(agent.multitaskStrategy)
      )
        throw new ConfigError(`agent "${agent.name}": multitaskStrategy must be enqueue, reject, interrupt or merge`);
      checkCacheSettings(agent);
      if (agent.budget !== undefined && !budgetLimitSchema.safeParse(agent.budget).success)
        throw new ConfigError(`agent "${agent.name}": budget must be { maxTokens?, maxUsd? } with positive numbers`);
      checkCompactionSettings(agent);
      this.agents.set(agent.name, agent);
    }
    this.findMissingTools();
    checkAgentsAsTools(this.agents, options.maxAgentDepth ?? DEFAULT_MAX_AGENT_DEPTH);
    for (const kind of kinds) {
      if (this.longRunningKinds.has(kind.kind))
        throw new ConfigError(`long-running kind "${kind.kind}" is registered twice`);
      this.longRunningKinds.set(kind.kind, kind);
    }
  }

  /** Tools added by setStartTools (MCP servers' tools), replaced at each start. */
  private startTools: string[] = [];

  /**
   * The tools known only once the client starts (the tools its MCP servers list, src/mcp/), added
   * before the instance registers itself and its worker computes what it fetches. Replaces those
   * of a previous start. A name taken by a code tool is a ConfigError.
   */
  setStartTools(tools: ToolDefinition[]): void {
    for (const name of this.startTools) this.tools.delete(name);
    this.startTools = [];
    for (const tool of tools) {
      this.addTool(tool);
      this.startTools.push(tool.name);
    }
    this.findMissingTools();
  }

  private addTool(tool: ToolDefinition): void {
    if (!TOOL_NAME.test(tool.name))
      throw new ConfigError(`invalid tool name "${tool.name}": use 1-64 of [a-zA-Z0-9_-]`);
    if (this.tools.has(tool.name)) throw new ConfigError(`tool "${tool.name}" is registered twice`);
    if (typeof tool.execute !== 'function') throw new ConfigError(`tool "${tool.name}" has no execute function`);
    this.tools.set(tool.name, tool);
  }

  private findMissingTools(): void {
    this.missingTools.clear();
    for (const agent of this.agents.values()) {
      const missing = (agent.tools ?? []).filter((t) => !this.tools.has(t));
      if (missing.length > 0) this.missingTools.set(agent.name, missing);
    }
  }

  /** Whether this instance can run the agent: it has the agent and every tool the agent lists. */
  isCapable(name: string): boolean {
    return this.agents.has(name) && !this.missingTools.has(name);
  }

  /** The names of the agents this instance runs (and fetches the runs of). */
  capableAgents(): string[] {
    return [...this.agents.keys()].filter((name) => !this.missingTools.has(name));
  }

  agent(name: string): AgentDefinition {
    const agent = this.agents.get(name);
    if (!agent) throw new NotFoundError('agent', name);
    return agent;
  }
}

const CACHE_KEYS = new Set(['tools', 'system', 'conversation']);

/** `cache` is a boolean or an object of booleans named tools/system/conversation; anything else is a typo. */
function checkCacheSettings(agent: AgentDefinition): void {
  const c = agent.cache as unknown;
  if (c === undefined || typeof c === 'boolean') return;
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw new ConfigError(`agent "${agent.name}": cache must be true, false or { tools, system, conversation }`);
  for (const [key, value] of Object.entries(c)) {
    if (!CACHE_KEYS.has(key)) throw new ConfigError(`agent "${agent.name}": unknown cache setting "${key}"`);
    if (value !== undefined && typeof value !== 'boolean')
      throw new ConfigError(`agent "${agent.name}": cache.${key} must be a boolean`);
  }
}
