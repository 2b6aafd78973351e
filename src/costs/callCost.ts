import type { TokenUsage } from '../runs/sql/insertMessages.js';
import { costOf, priceOf, type PriceTable } from './prices.js';

/**
 * A model call's usage with its cost (`batch`: made through the Message Batches API, at the batch
 * discount) in USD (`costUsd`, null for a model without a price), stored
 * on its assistant message (agentpg_messages.cost_usd) in the same transaction as the message.
 */
export function withCost(usage: TokenUsage, model: string, prices: PriceTable, batch = false): TokenUsage {
  const price = priceOf(model, prices);
  return { ...usage, costUsd: price ? costOf(usage, price, batch) : null };
}
