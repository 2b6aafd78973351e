import type { Queryable } from '../../db/queryable.js';

/**
 * The handler returned on its own (finished; `deactivate`), or it was stopped: no owner any more.
 * Fenced on `epoch` (see saveCheckpoint); false when it was no longer the agent's.
 */
export async function releaseAgent(
  db: Queryable,
  agentId: string,
  epoch: number,
  deactivate: boolean,
): Promise<boolean> {
  const res = await db.query(
    `update agentpg_long_running_agents
     set owner_instance_id = null, owned_since = null, updated_at = clock_timestamp(),
         active = case when $3::boolean then false else active end
     where id = $1 and epoch = $2
     returning 1`,
    [agentId, epoch, deactivate],
  );
  return res.rowCount !== 0;
}
