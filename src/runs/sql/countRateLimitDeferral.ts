import type { Queryable } from '../../db/queryable.js';

/**
 * [ratelimit] The run (still `running` under this claim, locked) is about to be handed back to
 * wait for model capacity: the hand-back is counted, so the next claim's attempts check does not
 * take it for a crash. Returns null when the claim is gone, else whether a cancel was requested.
 */
export async function countRateLimitDeferral(
  tx: Queryable,
  runId: string,
  attempt: number,
): Promise<{ cancelRequested: boolean } | null> {
  const { rows } = await tx.query<{ cancel_requested_at: Date | null }>(
    `update agentpg_runs set rate_limit_deferrals = rate_limit_deferrals + 1
      where id = $1 and state = 'running' and attempts = $2
      returning cancel_requested_at`,
    [runId, attempt],
  );
  return rows[0] ? { cancelRequested: rows[0].cancel_requested_at !== null } : null;
}
