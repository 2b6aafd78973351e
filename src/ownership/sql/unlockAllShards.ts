import type { Queryable } from '../../db/queryable.js';

/** Shutdown of a lock session: every advisory lock it holds, in one statement. */
export async function unlockAllShards(db: Queryable): Promise<void> {
  await db.query('select pg_advisory_unlock_all()');
}
