import type { Queryable } from '../../db/queryable.js';

/**
 * Refreshes last_heartbeat_at (durable on its own autocommit). Returns false when the row is gone:
 * a cleanup pass elsewhere judged this instance stale (a partition, a long GC pause) and removed
 * it, so the caller must register again.
 */
export async function heartbeatInstance(db: Queryable, instanceId: string): Promise<boolean> {
  const { rowCount } = await db.query(`update agentpg_instances set last_heartbeat_at = now() where id = $1`, [
    instanceId,
  ]);
  return (rowCount ?? 0) > 0;
}
