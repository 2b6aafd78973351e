import type { Queryable } from '../../db/queryable.js';
import { retirableCondition } from './retirable.js';

/**
 * Locks (FOR UPDATE, in the batch's transaction) at most `limit` of the candidate sessions that
 * may be retired now, skipping any row another transaction has locked: an enqueue into it (its
 * foreign key check holds KEY SHARE on the session), a hold being set, another pass's batch. Once
 * locked, no run can be enqueued into the session and no hold added to it until the batch ends.
 */
export async function lockRetirableSessions(
  db: Queryable,
  candidateIds: string[],
  maxAgeMs: number,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select s.id from agentpg_sessions s
      where s.id = any($1::uuid[]) and ${retirableCondition(2)}
      order by s.id
      limit $3
      for update of s skip locked`,
    [candidateIds, maxAgeMs, limit],
  );
  return rows.map((r) => r.id);
}
