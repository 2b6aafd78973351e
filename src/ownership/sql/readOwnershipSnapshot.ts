import type { Queryable } from '../../db/queryable.js';

export interface OwnershipSnapshotRow {
  /** application_name of every lock session. */
  members: string[];
  /** [shard, pid, application_name] of every granted shard lock (shard is a bigint in JSON: a number). */
  locks: Array<[number, number, string | null]>;
  shard_count: number;
}

/**
 * What Postgres itself says about shard ownership in this database, in one round trip on the pool:
 * - members: application_name of every lock session ('agentpg-lock:<tag>'), one per instance that
 *   takes part (every participating instance keeps at least one lock session open, even holding
 *   nothing). A SIGKILLed instance's sessions vanish within milliseconds; a cut-off one's when its
 *   server lease (idle_session_timeout) ends it.
 * - locks: [shard, pid, application_name] of every granted shard lock.
 * - shard_count: shard ids are contiguous from 0.
 * Reading pg_locks costs about 1 ms per 1,000 locks held on the server.
 */
export async function readOwnershipSnapshot(db: Queryable, namespace: number): Promise<OwnershipSnapshotRow> {
  const { rows } = await db.query<OwnershipSnapshotRow>(
    `with db as (select oid from pg_database where datname = current_database())
     select
       coalesce((
         select json_agg(distinct a.application_name)
         from pg_stat_activity a
         where a.datid = (select oid from db) and a.application_name like 'agentpg-lock:%'
       ), '[]'::json) as members,
       coalesce((
         select json_agg(json_build_array(l.objid::bigint, l.pid, a.application_name))
         from pg_locks l
         left join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.database = (select oid from db)
           and l.classid = $1::bigint::oid and l.objsubid = 2 and l.granted
       ), '[]'::json) as locks,
       (select coalesce(max(id) + 1, 0) from agentpg_long_running_shards)::int as shard_count`,
    [namespace],
  );
  return rows[0];
}
