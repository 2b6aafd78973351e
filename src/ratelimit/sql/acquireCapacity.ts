import type { Queryable } from '../../db/queryable.js';

export interface AcquireRequest {
  model: string;
  keyHash: string;
  tenantId: string;
  inputTokens: number;
  outputTokens: number;
  /** Configured limits (null: learned ones apply). */
  requestsPerMinute: number | null;
  inputTokensPerMinute: number | null;
  outputTokensPerMinute: number | null;
}

export interface AcquireResult {
  granted: boolean;
  /** When refused: how long until the bucket (or a 429's block) should allow the call. */
  waitMs: number;
  /** false: no limit is known for this model and key (nothing configured, nothing learned). */
  known: boolean;
  /** The first call for this model and key: the others wait for its response's headers. */
  probe: boolean;
}

/**
 * Takes one request and the call's estimated tokens from the (model, key) bucket, or is refused
 * with a wait: ONE autocommit statement (agentpg_rate_limit_acquire, migration rate_limits: the
 * bucket row locked, levels refilled, tenant fairness, the grant or refusal written).
 */
export async function acquireCapacity(db: Queryable, r: AcquireRequest): Promise<AcquireResult> {
  const { rows } = await db.query<{ granted: boolean; wait_ms: number; known: boolean; probe: boolean }>(
    `select granted, wait_ms, known, probe from agentpg_rate_limit_acquire($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      r.model,
      r.keyHash,
      r.tenantId,
      r.inputTokens,
      r.outputTokens,
      r.requestsPerMinute,
      r.inputTokensPerMinute,
      r.outputTokensPerMinute,
    ],
  );
  const row = rows[0];
  return { granted: row.granted, waitMs: Number(row.wait_ms), known: row.known, probe: row.probe };
}
