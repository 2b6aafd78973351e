import type { Queryable } from '../../db/queryable.js';

/**
 * The first statement of a suspend transaction: locks the run row (a decision locks it first too,
 * see agentpg_decide_tool_call) if it is still ours, `running` under this claim. Null when the
 * claim is gone.
 */
export async function lockRunForSuspend(
  tx: Queryable,
  runId: string,
  attempt: number,
): Promise<{ cancelRequestedAt: Date | null } | null> {
  const { rows } = await tx.query(
    `select cancel_requested_at from agentpg_runs where id = $1 and state = 'running' and attempts = $2 for update`,
    [runId, attempt],
  );
  return rows[0] ? { cancelRequestedAt: rows[0].cancel_requested_at } : null;
}
