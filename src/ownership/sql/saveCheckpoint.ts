import type { Queryable } from '../../db/queryable.js';

/**
 * Fenced writes of an owner, on the pool (this one and fenceAgentRow, recordRestart, releaseAgent,
 * restoreOwner): each is one UPDATE conditional on the epoch, and 0 rows means another acquisition
 * happened (StaleOwnerError for the caller). An UPDATE waits for a concurrent acquisition's row
 * lock and re-checks the epoch after it, so an owner's write lands either before the next owner's
 * acquisition or not at all. Durable: the commit of each statement.
 *
 * Returns false when the epoch is no longer the agent's. `checkpoint` is JSON text.
 */
export async function saveCheckpoint(
  db: Queryable,
  agentId: string,
  epoch: number,
  checkpoint: string,
): Promise<boolean> {
  const res = await db.query(
    `update agentpg_long_running_agents
     set checkpoint = $3::jsonb, last_activity_at = clock_timestamp(), updated_at = clock_timestamp()
     where id = $1 and epoch = $2
     returning 1`,
    [agentId, epoch, checkpoint],
  );
  return res.rowCount !== 0;
}
