import type { Queryable } from '../../db/queryable.js';

/**
 * Runs on the LOCK SESSION right after its try-locks succeeded, so it can only ever execute while
 * that session (and so its locks) is alive: a statement queued by a cut-off owner dies with its
 * session. One statement: bumps each shard's epoch, closes the previous owner's open log interval
 * (the lock was free by now, so now is an upper bound of its end) and opens ours.
 * Durable: the commit of this statement.
 */
export async function acquireShards(db: Queryable, instanceId: string, shards: number[]): Promise<void> {
  await db.query(
    `with sh as (
       update agentpg_long_running_shards
       set epoch = epoch + 1, owner_instance_id = $1, acquired_at = clock_timestamp()
       where id = any($2::int[])
       returning id, epoch, acquired_at
     ), closed as (
       update agentpg_long_running_ownership_log l
       set released_at = sh.acquired_at, release_reason = 'taken_over'
       from sh
       where l.shard = sh.id and l.released_at is null
       returning 1
     ), logged as (
       insert into agentpg_long_running_ownership_log (shard, epoch, instance_id, lock_pid, acquired_at)
       select id, epoch, $1, pg_backend_pid(), acquired_at from sh
       returning 1
     )
     select id, epoch from sh`,
    [instanceId, shards],
  );
}
