import type { Queryable } from '../../db/queryable.js';
import { retirableCondition } from './retirable.js';

/**
 * The locked sessions that may still be retired, read again by a statement of its own: under READ
 * COMMITTED it takes a fresh snapshot, so it sees a run or hold committed after the lock
 * statement's snapshot was taken but before its lock was granted. Nothing can change the answer
 * after this (the lock blocks new runs and holds; finished runs never go back), so it is final.
 */
export async function keepRetirableSessions(db: Queryable, lockedIds: string[], maxAgeMs: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select s.id from agentpg_sessions s where s.id = any($1::uuid[]) and ${retirableCondition(2)} order by s.id`,
    [lockedIds, maxAgeMs],
  );
  return rows.map((r) => r.id);
}
