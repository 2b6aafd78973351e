import { ConfigError } from '../errors.js';
import type { AgentDefinition } from './agent.js';
import { TOOL_NAME } from './tool.js';

/** config.maxAgentDepth's default: how deep child runs may nest. */
export const DEFAULT_MAX_AGENT_DEPTH = 5;

/** The input schema of an agent called as a tool: the model writes the task for it here. */
export type AgentToolInputSchema = {
  type: 'object';
  properties: Record<string, unknown>;
  required: string[];
  additionalProperties: boolean;
  [key: string]: unknown;
};

function agentToolInputSchema(): AgentToolInputSchema {
  return {
    type: 'object',
    properties: {
      prompt: { type: 'string', description: 'The task or question for this agent, with everything it needs to know.' },
    },
    required: ['prompt'],
    additionalProperties: false,
  };
}

/** The tool definition the model sees for an agent it may call (Messages API `tools` entry). */
export function agentAsToolParam(agent: AgentDefinition): {
  name: string;
  description: string;
  input_schema: AgentToolInputSchema;
} {
  return {
    name: agent.name,
    description: agent.description ?? `Hands a task to the ${agent.name} agent and returns its answer.`,
    input_schema: agentToolInputSchema(),
  };
}

/**
 * Registration checks of `agents` (agents as tools), all ConfigError: every name is an agent
 * registered here (its definition gives the tool's description; it may run on other instances),
 * usable as a tool name, and not also one of the agent's own tools; no cycle (an agent reaching
 * itself through its `agents`); no chain deeper than maxAgentDepth (a root run has depth 0, so an
 * agent whose longest chain is N calls nests child runs N deep).
 */
export function checkAgentsAsTools(agents: ReadonlyMap<string, AgentDefinition>, maxAgentDepth: number): void {
  for (const agent of agents.values()) {
    const seen = new Set<string>();
    for (const name of agent.agents ?? []) {
      if (seen.has(name)) throw new ConfigError(`agent "${agent.name}" lists agent "${name}" twice`);
      seen.add(name);
      const callee = agents.get(name);
      if (!callee)
        throw new ConfigError(`agent "${agent.name}" lists agent "${name}", which is not registered on this instance`);
      if (!TOOL_NAME.test(name))
        throw new ConfigError(
          `agent "${name}" cannot be a tool of "${agent.name}": its name must be 1-64 of [a-zA-Z0-9_-]`,
        );
      if ((agent.tools ?? []).includes(name))
        throw new ConfigError(`agent "${agent.name}" has a tool and an agent both named "${name}"`);
    }
  }
  // Depth-first, memoized: the longest chain below each agent; a name met again on the current
  // path is a cycle.
  const longest = new Map<string, number>();
  const visit = (name: string, path: string[]): number => {
    const known = longest.get(name);
    if (known !== undefined) return known;
    if (path.includes(name))
      throw new ConfigError(
        `agents call each other in a cycle: ${[...path.slice(path.indexOf(name)), name].join(' → ')}`,
      );
    let below = 0;
    for (const callee of agents.get(name)?.agents ?? []) below = Math.max(below, 1 + visit(callee, [...path, name]));
    longest.set(name, below);
    return below;
  };
  for (const name of agents.keys()) {
    const depth = visit(name, []);
    if (depth > maxAgentDepth)
      throw new ConfigError(
        `agent "${name}" nests child runs ${depth} deep through its agents, more than maxAgentDepth (${maxAgentDepth})`,
      );
  }
}
