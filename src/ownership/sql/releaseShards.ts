import type { Queryable } from '../../db/queryable.js';

/**
 * Graceful hand-over of shards, on the LOCK SESSION before it unlocks them (the handlers have
 * returned by then): the agents and shards no longer name this instance as owner, and our open log
 * intervals are closed. Returns how many agents were released. Durable: the commit of this
 * statement; the unlock follows.
 */
export async function releaseShards(
  db: Queryable,
  instanceId: string,
  shards: number[],
  reason: string,
): Promise<number> {
  const { rows } = await db.query<{ agents: number }>(
    `with a as (
       update agentpg_long_running_agents
       set owner_instance_id = null, owned_since = null, updated_at = clock_timestamp()
       where shard = any($2::int[]) and owner_instance_id = $1
       returning 1
     ), s as (
       update agentpg_long_running_shards set owner_instance_id = null
       where id = any($2::int[]) and owner_instance_id = $1
       returning 1
     ), l as (
       update agentpg_long_running_ownership_log
       set released_at = clock_timestamp(), release_reason = $3
       where shard = any($2::int[]) and released_at is null and instance_id = $1
       returning 1
     )
     select (select count(*) from a)::int as agents`,
    [instanceId, shards, reason],
  );
  return rows[0]?.agents ?? 0;
}
