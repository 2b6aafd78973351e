import type { Queryable } from '../../db/queryable.js';

/**
 * How many agents are active in all, and in these shards (the "skipped" count of a restore is the
 * difference).
 */
export async function countActiveAgents(db: Queryable, shards: number[]): Promise<{ mine: number; total: number }> {
  const { rows } = await db.query<{ mine: number; total: number }>(
    `select count(*) filter (where shard = any($1::int[]))::int as mine, count(*)::int as total
     from agentpg_long_running_agents where active`,
    [shards],
  );
  return rows[0];
}
