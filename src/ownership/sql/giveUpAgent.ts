import type { Queryable } from '../../db/queryable.js';

/**
 * The owner gives up on a handler that kept throwing: the agent becomes inactive and failed (so no
 * instance restarts it until longRunning.start()), with the last error, and has no owner any more.
 * Fenced by the epoch like every owner write: a stale owner cannot fail an agent it lost (null).
 * No NOTIFY: the giving-up owner is the one that would react to it.
 */
export async function giveUpAgent(
  db: Queryable,
  id: string,
  epoch: string | number,
  lastError: string,
): Promise<{ restart_count: number } | null> {
  const { rows } = await db.query<{ restart_count: number }>(
    `update agentpg_long_running_agents
        set active = false, failed_at = clock_timestamp(), last_error = $3, owner_instance_id = null,
            owned_since = null, updated_at = clock_timestamp()
      where id = $1 and epoch = $2
      returning restart_count`,
    [id, epoch, lastError],
  );
  return rows[0] ?? null;
}
