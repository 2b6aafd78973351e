import type { Queryable } from '../../db/queryable.js';

/** Deletes ownership log rows released longer ago than the retention. */
export async function pruneOwnershipLog(db: Queryable, retentionMs: number): Promise<void> {
  await db.query(
    `delete from agentpg_long_running_ownership_log
     where released_at < clock_timestamp() - ($1::bigint * interval '1 millisecond')`,
    [retentionMs],
  );
}
