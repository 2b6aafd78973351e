import type { Queryable } from '../../db/queryable.js';

/** Which of these API batch ids a submission already has (reconciliation skips them). ONE statement. */
export async function knownBatchIds(db: Queryable, batchIds: string[]): Promise<Set<string>> {
  if (batchIds.length === 0) return new Set();
  const { rows } = await db.query<{ batch_id: string }>(
    `select batch_id from agentpg_batch_submissions where batch_id = any($1::text[])`,
    [batchIds],
  );
  return new Set(rows.map((r) => r.batch_id));
}
