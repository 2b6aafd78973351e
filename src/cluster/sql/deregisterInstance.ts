import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes this instance's row; its agent/tool links go with it (ON DELETE CASCADE) and the
 * agentpg_instance_deregistered NOTIFY fires. Durable on its own autocommit.
 */
export async function deregisterInstance(db: Queryable, instanceId: string): Promise<boolean> {
  const { rowCount } = await db.query(`delete from agentpg_instances where id = $1`, [instanceId]);
  return (rowCount ?? 0) > 0;
}
