import type { Queryable } from '../../db/queryable.js';

/** Unlocks shards this session holds (Postgres answers false for a shard it did not hold). */
export async function unlockShards(db: Queryable, namespace: number, shards: number[]): Promise<void> {
  await db.query(
    `select s::int as shard, pg_advisory_unlock($1::int, s) as released
     from unnest($2::int[]) as s`,
    [namespace, shards],
  );
}
