import type { Queryable } from '../../db/queryable.js';

export interface RateLimitRow {
  model: string;
  keyHash: string;
  requestsLimit: number | null;
  /** The learned (or default) window of the requests bucket: limit / refill rate. */
  requestsWindowMs: number | null;
  inputTokensLimit: number | null;
  outputTokensLimit: number | null;
  blockedUntil: Date | null;
  grants: number;
  refusals: number;
  rateLimited: number;
}

/** The cluster's buckets, for inspection and tests (one read). */
export async function listRateLimits(db: Queryable): Promise<RateLimitRow[]> {
  const { rows } = await db.query(
    `select model, key_hash, requests_limit, requests_limit / nullif(requests_per_ms, 0) as requests_window_ms,
            input_tokens_limit, output_tokens_limit, blocked_until, grants, refusals, rate_limited
       from agentpg_rate_limits order by model, key_hash`,
  );
  return rows.map((r) => ({
    model: r.model,
    keyHash: r.key_hash,
    requestsLimit: r.requests_limit,
    requestsWindowMs: r.requests_window_ms === null ? null : Number(r.requests_window_ms),
    inputTokensLimit: r.input_tokens_limit,
    outputTokensLimit: r.output_tokens_limit,
    blockedUntil: r.blocked_until,
    grants: r.grants,
    refusals: r.refusals,
    rateLimited: r.rate_limited,
  }));
}
