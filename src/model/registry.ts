import { ConfigError, NotFoundError } from '../errors.js';
import type { LongRunningKind } from '../ownership/types.js';
import type { AgentDefinition } from './agent.js';
import type { ToolDefinition } from './tool.js';

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The agents, tools and long-running kinds this instance can execute, checked at construction. */
export class Registry {
  readonly agents = new Map<string, AgentDefinition>();
  readonly tools = new Map<string, ToolDefinition>();
  readonly longRunningKinds = new Map<string, LongRunningKind>();

  constructor(agents: AgentDefinition[] = [], tools: ToolDefinition[] = [], kinds: LongRunningKind[] = []) {
    for (const tool of tools) {
      if (!NAME.test(tool.name)) throw new ConfigError(`invalid tool name "${tool.name}": use 1-64 of [a-zA-Z0-9_-]`);
      if (this.tools.has(tool.name)) throw new ConfigError(`tool "${tool.name}" is registered twice`);
      if (typeof tool.execute !== 'function') throw new ConfigError(`tool "${tool.name}" has no execute function`);
      this.tools.set(tool.name, tool);
    }
    for (const agent of agents) {
      if (!agent.name || agent.name.length > 255) throw new ConfigError('every agent needs a name (at most 255 characters)');
      if (!agent.model) throw new ConfigError(`agent "${agent.name}" needs a model`);
      if (this.agents.has(agent.name)) throw new ConfigError(`agent "${agent.name}" is registered twice`);
      for (const t of agent.tools ?? []) {
        if (!this.tools.has(t)) throw new ConfigError(`agent "${agent.name}" uses tool "${t}", which is not registered`);
      }
      this.agents.set(agent.name, agent);
    }
    for (const kind of kinds) {
      if (this.longRunningKinds.has(kind.kind)) throw new ConfigError(`long-running kind "${kind.kind}" is registered twice`);
      this.longRunningKinds.set(kind.kind, kind);
    }
  }

  agent(name: string): AgentDefinition {
    const agent = this.agents.get(name);
    if (!agent) throw new NotFoundError('agent', name);
    return agent;
  }
}
