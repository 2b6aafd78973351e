import type { Queryable } from '../../db/queryable.js';

/** Active agents of these shards whose kind this instance cannot run (restore failures), at most 100. */
export async function unrunnableAgents(
  db: Queryable,
  shards: number[],
  kinds: string[],
): Promise<Array<{ id: string; kind: string }>> {
  const { rows } = await db.query<{ id: string; kind: string }>(
    `select id, kind from agentpg_long_running_agents
     where shard = any($1::int[]) and active and kind <> all($2::text[])
     limit 100`,
    [shards, kinds],
  );
  return rows;
}
