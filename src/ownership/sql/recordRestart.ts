import type { Queryable } from '../../db/queryable.js';

/**
 * A handler threw: count the restart and keep the (redacted) message. Returns the new restart
 * count, or null when `epoch` is no longer the agent's (fenced, see saveCheckpoint).
 */
export async function recordRestart(
  db: Queryable,
  agentId: string,
  epoch: number,
  message: string,
): Promise<number | null> {
  const { rows } = await db.query<{ restart_count: number }>(
    `update agentpg_long_running_agents
     set restart_count = restart_count + 1, last_error = $3, updated_at = clock_timestamp()
     where id = $1 and epoch = $2
     returning restart_count`,
    [agentId, epoch, message],
  );
  return rows[0]?.restart_count ?? null;
}
