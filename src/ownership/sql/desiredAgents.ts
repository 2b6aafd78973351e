import type { Queryable } from '../../db/queryable.js';

export interface DesiredAgentRow {
  id: string;
  kind: string;
  shard: number;
  active: boolean;
  /** bigint: a string from pg. */
  epoch: string;
  /** The owner mirror names this instance. */
  mine: boolean;
}

/**
 * The active agents of shards this instance holds, and those it still owns (reconcile). `ids`
 * limits it to some agents; null reads them all.
 */
export async function desiredAgents(
  db: Queryable,
  shards: number[],
  instanceId: string,
  ids: string[] | null,
): Promise<DesiredAgentRow[]> {
  const { rows } = await db.query<DesiredAgentRow>(
    `select id, kind, shard, active, epoch, coalesce(owner_instance_id = $2, false) as mine
     from agentpg_long_running_agents
     where shard = any($1::int[]) and (active or owner_instance_id = $2)
       and ($3::text[] is null or id = any($3::text[]))`,
    [shards, instanceId, ids],
  );
  return rows;
}
