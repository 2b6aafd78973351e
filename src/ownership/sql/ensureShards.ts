import type { Queryable } from '../../db/queryable.js';

/** Creates shards 0..count-1 that do not exist yet (shards are only ever added, never removed). */
export async function ensureShards(db: Queryable, count: number): Promise<void> {
  await db.query(
    `insert into agentpg_long_running_shards (id)
     select g from generate_series(0, $1::int - 1) g
     on conflict (id) do nothing`,
    [count],
  );
}
