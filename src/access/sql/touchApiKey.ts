import type { Queryable } from '../../db/queryable.js';

/**
 * Records that a key was used. Written at most about once a minute per key (the caller checks
 * findApiKey's lastUsedStale, and the where clause keeps concurrent instances from all writing).
 */
export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update agentpg_api_keys set last_used_at = now()
      where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
    [id],
  );
}
