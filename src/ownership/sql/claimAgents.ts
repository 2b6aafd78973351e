import type { Queryable } from '../../db/queryable.js';

export interface ClaimedAgentRow {
  id: string;
  kind: string;
  shard: number;
  /** bigint: a string from pg. */
  epoch: string;
  config: Record<string, unknown> | null;
  checkpoint: unknown;
  restart_count: number;
}

/**
 * Takes ownership of the active agents of shards this session holds: epoch + 1 (the fence: every
 * write of a previous owner, conditional on its own epoch, now fails), owner, owned_since. Runs on
 * the LOCK SESSION for the same reason as acquireShards. SKIP LOCKED: a row locked by a previous
 * owner's fenced transaction is skipped (taken at the next reconcile) instead of blocking the lock
 * session's heartbeats. `ids` restricts it to some agent ids (null: all of the shards).
 * Durable: the commit of this statement.
 */
export async function claimAgents(
  db: Queryable,
  instanceId: string,
  shards: number[],
  kinds: string[],
  ids: string[] | null,
): Promise<ClaimedAgentRow[]> {
  const { rows } = await db.query<ClaimedAgentRow>(
    `with t as (
       select id from agentpg_long_running_agents
       where shard = any($2::int[]) and active and kind = any($3::text[])
         and ($4::text[] is null or id = any($4::text[]))
       for update skip locked
     )
     update agentpg_long_running_agents a
     set epoch = a.epoch + 1, owner_instance_id = $1, owned_since = clock_timestamp(), updated_at = clock_timestamp()
     from t
     where a.id = t.id
     returning a.id, a.kind, a.shard, a.epoch, a.config, a.checkpoint, a.restart_count`,
    [instanceId, shards, kinds, ids],
  );
  return rows;
}
