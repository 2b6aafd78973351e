import type Anthropic from '@anthropic-ai/sdk';
import type { AgentDefinition } from '../model/agent.js';
import { agentAsToolParam } from '../model/agentsAsTools.js';
import { toJsonSchema } from '../model/tool.js';
import type { Runtime } from '../runtime.js';

/**
 * The agent's tools as the Messages API request lists them (model calls, token counts): its code
 * and MCP tools, then the agents it calls as tools (child runs).
 */
export function toolParamsOf(rt: Pick<Runtime, 'registry'>, agent: AgentDefinition): Anthropic.Tool[] {
  const tools: Anthropic.Tool[] = (agent.tools ?? []).map((name) => {
    const t = rt.registry.tools.get(name)!;
    return {
      name: t.name,
      description: t.description,
      input_schema: toJsonSchema(t.inputSchema) as Anthropic.Tool.InputSchema,
    };
  });
  for (const name of agent.agents ?? []) tools.push(agentAsToolParam(rt.registry.agent(name)));
  return tools;
}
