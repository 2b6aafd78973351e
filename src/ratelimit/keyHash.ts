import { createHash } from 'node:crypto';

/**
 * Which API key a bucket belongs to, without the key: a sha256 prefix (128 bits) of it, salted with
 * a fixed label so the value is of no use anywhere else. Limits are per key (and organization),
 * so two clusters with different keys on one database keep separate buckets.
 */
export function apiKeyHash(apiKey: string | null | undefined): string {
  return createHash('sha256')
    .update(`agentpg-ratelimit:${apiKey ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}
