import type { TokenUsage } from '../runs/sql/insertMessages.js';

/** A model's price in USD per million tokens, and the cache multipliers of its input price. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** cache_creation_input_tokens cost this times the input price (5-minute cache writes). Default 1.25. */
  cacheWriteMultiplier?: number;
  /** cache_read_input_tokens cost this times the input price. Default 0.1. */
  cacheReadMultiplier?: number;
  /** [batch] A call through the Message Batches API costs this times the whole call. Default 0.5. */
  batchMultiplier?: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_CACHE_WRITE_MULTIPLIER = 1.25;
export const DEFAULT_CACHE_READ_MULTIPLIER = 0.1;
/** The Message Batches API's discount: half of every token price (input, cache and output). */
export const DEFAULT_BATCH_MULTIPLIER = 0.5;

/**
 * The published list prices (USD per million tokens) of the models the Anthropic SDK names, as of
 * 2026-11. Prices change: check https://platform.claude.com/docs/en/about-claude/pricing and
 * override or add models with the client's `prices` (merged over these). A dated model id
 * (`claude-haiku-4-5-20251001`) takes the price of its undated name. Haiku 5.5 is priced at its
 * rate for prompts up to 100k tokens.
 */
export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-5-5': { inputPerMTok: 4, outputPerMTok: 20 },
  'claude-sonnet-5-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-haiku-5-5': { inputPerMTok: 0.1, outputPerMTok: 0.5 },
  'claude-fable-5-1': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-mythos-5-1': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-fable-5': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-mythos-5': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-opus-5': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-sonnet-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-opus-4-7': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-6': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-sonnet-4-6': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5 },
};

/** The price of `model` in `table` (its exact id, else the id without a -YYYYMMDD suffix), or null. */
export function priceOf(model: string, table: PriceTable): ModelPrice | null {
  return table[model] ?? table[model.replace(/-\d{8}$/, '')] ?? null;
}

/** What one model call cost in USD (`batch`: through the Message Batches API, batchMultiplier applied). */
export function costOf(usage: TokenUsage, price: ModelPrice, batch = false): number {
  const input = price.inputPerMTok / 1e6;
  const usd =
    usage.inputTokens * input +
    usage.cacheCreationInputTokens * input * (price.cacheWriteMultiplier ?? DEFAULT_CACHE_WRITE_MULTIPLIER) +
    usage.cacheReadInputTokens * input * (price.cacheReadMultiplier ?? DEFAULT_CACHE_READ_MULTIPLIER) +
    usage.outputTokens * (price.outputPerMTok / 1e6);
  const billed = batch ? usd * (price.batchMultiplier ?? DEFAULT_BATCH_MULTIPLIER) : usd;
  // numeric(18, 9) in agentpg_messages.cost_usd: nano-dollars.
  return Math.round(billed * 1e9) / 1e9;
}

/** Every token a call processed (a token budget counts them all: input, cache writes and reads, output). */
export function tokensOf(usage: TokenUsage): number {
  return usage.inputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens + usage.outputTokens;
}
