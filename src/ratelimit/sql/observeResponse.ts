import type { Queryable } from '../../db/queryable.js';
import type { LimitReading, RateLimitHeaders } from '../headers.js';

export interface Observation {
  model: string;
  keyHash: string;
  /** When the API counted the call (estimated: between the grant and its answer): rates are learned against it. */
  sentAt: Date;
  headers: RateLimitHeaders | null;
  /** Reserved minus counted tokens (negative when the estimate was short). */
  inputRefund: number;
  outputRefund: number;
  /** A 429: no instance calls this model with this key before then. */
  blockedUntil: Date | null;
  /** The API answered the call (headers or an error status): it is no longer in flight. */
  arrived: boolean;
}

/**
 * What the API said about one call, in ONE autocommit statement (agentpg_rate_limit_observe,
 * migration rate_limits): limits and refill rates learned, levels synced down to what the API
 * says remains, the reservation settled, a 429's block set for the whole cluster.
 */
export async function observeResponse(db: Queryable, o: Observation): Promise<void> {
  const parts = (r: LimitReading | null | undefined) => [r?.limit ?? null, r?.remaining ?? null, r?.reset ?? null];
  await db.query(
    `select agentpg_rate_limit_observe($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      o.model,
      o.keyHash,
      o.sentAt,
      ...parts(o.headers?.requests),
      ...parts(o.headers?.inputTokens),
      ...parts(o.headers?.outputTokens),
      o.inputRefund,
      o.outputRefund,
      o.blockedUntil,
      o.arrived,
    ],
  );
}
