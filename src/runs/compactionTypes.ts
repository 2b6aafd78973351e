// The public half of src/runs/compaction.ts: types only, importing nothing but SDK types, so the
// published declarations of AgentDefinition.compaction never pull in the runtime.
import type Anthropic from '@anthropic-ai/sdk';

/**
 * Compaction of an agent's long sessions (README "Long sessions"). Before a model call whose request
 * would reach `triggerFraction` of `contextWindowTokens`, the older messages of the session are
 * archived and replaced by what the strategy returns (by default: old tool outputs pruned, and if
 * that is not enough, a summary written by `model`). Every field has a default.
 */
export interface AgentCompactionSettings {
  /** The model's context window in tokens. Default 200,000. */
  contextWindowTokens?: number;
  /** Compact when the next request would reach this share of the window. Default 0.8. */
  triggerFraction?: number;
  /** Pruning is enough when it brings the request under this share; else summarize. Default 0.5. */
  targetFraction?: number;
  /** The protected tail: the last N stored messages are never archived. Default 6. */
  keepLastMessages?: number;
  /** The summarizer's model (a cheaper one is fine). Default: the agent's model. */
  model?: string;
  /** The summarizer's max_tokens. Default 2048. */
  summaryMaxTokens?: number;
  /** Tool outputs longer than this (characters) are pruned from the archived part. Default 2000. */
  pruneToolOutputsOver?: number;
  /** Default: hybridStrategy (prune, then summarize). */
  strategy?: CompactionStrategy;
}

/** What a strategy gets: the part of the conversation being archived, and the means to shrink it. */
export interface CompactionInput {
  /**
   * The messages being archived, valid for the API (first message user, roles alternating, every
   * tool_use answered); the previous compaction's replacement comes first.
   */
  messages: Anthropic.MessageParam[];
  /** Estimated tokens the rest of the request takes (system prompt, tools, the kept tail). */
  fixedTokens: number;
  /** The whole request should end up under this many tokens. */
  targetTokens: number;
  /** The documented estimate: one token per four characters of the JSON. */
  estimateTokens(messages: Anthropic.MessageParam[]): number;
  /** Tool outputs longer than the configured limit replaced by a short note; pairs kept intact. */
  pruneToolOutputs(messages: Anthropic.MessageParam[]): Anthropic.MessageParam[];
  /** One call of the summarizer model over `messages`; returns the summary text. */
  summarize(messages: Anthropic.MessageParam[]): Promise<string>;
  signal: AbortSignal;
}

export interface CompactionStrategy {
  /** Recorded in agentpg_compactions.strategy (at most 50 characters). */
  name: string;
  /**
   * The messages that replace `input.messages` in every later request: valid for the API on their
   * own (starting with a user message, every tool_use answered). Return null to not compact now.
   */
  compact(input: CompactionInput): Promise<Anthropic.MessageParam[] | null>;
}

/** One row of agentpg_compactions (client.sessions.compactions). */
export interface Compaction {
  id: string;
  sessionId: string;
  /** 1, 2, 3... per session. */
  number: number;
  runId: string | null;
  /** Messages with seq <= throughSeq are archived (still in agentpg_messages). */
  throughSeq: number;
  replacement: Array<{ role: 'user' | 'assistant'; content: unknown[] }>;
  strategy: string;
  model: string | null;
  messagesArchived: number;
  tokensBefore: number;
  tokensAfter: number;
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
  createdAt: Date;
}
