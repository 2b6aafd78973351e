/** An agent definition (seed 000's fields) plus the names of the tools it may call. */
export interface AgentDefinition {
  name: string;
  description?: string;
  model: string;
  systemPrompt?: string;
  /** Default 4096. */
  maxTokens?: number;
  temperature?: number;
  /** Names of registered tools. */
  tools?: string[];
  config?: Record<string, unknown>;
}

export function defineAgent(def: AgentDefinition): AgentDefinition {
  return def;
}
