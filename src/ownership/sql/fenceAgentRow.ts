import type { Queryable } from '../../db/queryable.js';

/**
 * First statement of ctx.fenced(), on the transaction's client: locks the agent's row until the
 * transaction ends, if `epoch` is still the agent's (false otherwise). See saveCheckpoint.
 */
export async function fenceAgentRow(db: Queryable, agentId: string, epoch: number): Promise<boolean> {
  const res = await db.query(
    `update agentpg_long_running_agents
     set last_activity_at = clock_timestamp()
     where id = $1 and epoch = $2
     returning 1`,
    [agentId, epoch],
  );
  return res.rowCount !== 0;
}
