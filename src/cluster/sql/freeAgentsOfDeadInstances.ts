import type { Queryable } from '../../db/queryable.js';

/**
 * Frees long-running agents whose owner instance no longer exists (owner_instance_id = null), so
 * another instance can take them. Exported for the ownership module too. Guarded UPDATE, one
 * autocommit statement: repeating it is harmless, and an agent re-owned meanwhile by a live
 * instance no longer matches. The epoch is left alone: the next owner bumps it when it takes over,
 * which is what fences the old owner's late writes. Sends agentpg_ownership_changed per agent.
 */
export async function freeAgentsOfDeadInstances(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `update agentpg_long_running_agents a
        set owner_instance_id = null, owned_since = null, updated_at = now()
      where a.owner_instance_id is not null
        and not exists (select 1 from agentpg_instances i where i.id = a.owner_instance_id)
      returning a.id`,
  );
  return rows.map((r) => r.id);
}
