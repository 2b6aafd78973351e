import type { AgentCompactionSettings } from '../runs/compactionTypes.js';

export type { AgentCompactionSettings };

/** Where agentpg puts prompt-cache breakpoints (see src/runs/promptCache.ts); every field defaults to true. */
export interface AgentCacheSettings {
  /** On the last tool definition: the tool list is read from cache by every call. */
  tools?: boolean;
  /** On the system prompt. */
  system?: boolean;
  /** On the conversation: its last block, and the last block of the user turn before it. */
  conversation?: boolean;
}

import type { BudgetLimit } from '../costs/budgets.js';

/** An agent definition (stored in agentpg_agents) plus the names of the tools it may call. */
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
  /**
   * Agents as tools: names of other registered agents this one may call. Each is offered to the
   * model as a tool of that name (input `{ prompt }`, the agent's description); a call starts a
   * child run and its final answer is the tool_result (src/runs/childRuns.ts).
   */
  agents?: string[];
  config?: Record<string, unknown>;
  /** Prompt caching: true (default) puts every breakpoint, false none, an object picks them. */
  cache?: boolean | AgentCacheSettings;
  /**
   * What a new prompt does while the session has a run in flight (double texting): `enqueue`
   * (default), `reject`, `interrupt` or `merge` (src/runs/multitask.ts). An enqueue's own
   * `multitaskStrategy` option wins.
   */
  multitaskStrategy?: 'enqueue' | 'reject' | 'interrupt' | 'merge';
  /** [costs] What one run of this agent may spend (tokens, USD); replaces the client's `budgets.perRun`. */
  budget?: BudgetLimit;
  /**
   * [batch] Model calls of this agent's runs go through the Message Batches API by default (an
   * enqueue's `batch` option wins): half the price, for work that can wait (src/batch/). Default false.
   */
  batch?: boolean;
  /** Compaction of long sessions: true (default) with the default settings, false never, an object tunes it. */
  compaction?: boolean | AgentCompactionSettings;
}

export function defineAgent(def: AgentDefinition): AgentDefinition {
  return def;
}
