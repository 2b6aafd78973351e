import { randomUUID } from 'node:crypto';

/** The API's rule for a batch request's custom_id: 1 to 64 of [a-zA-Z0-9_-]. */
export const CUSTOM_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * A new custom id: `agentpg_` + a random UUID's 32 hex digits (40 characters). Unique forever, not
 * only within a batch: a batch found by reconciliation (reconcile.ts) is matched to its
 * submission by these ids, and a result line to exactly one agentpg_batch_requests row.
 */
export function newCustomId(): string {
  return `agentpg_${randomUUID().replaceAll('-', '')}`;
}
