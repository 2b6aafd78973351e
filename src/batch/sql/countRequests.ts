import type { Queryable } from '../../db/queryable.js';

/** How many model calls of a run went through batches: each one cost the run a wait and a claim. */
export async function countRequests(db: Queryable, runId: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`select count(*) as n from agentpg_batch_requests where run_id = $1`, [
    runId,
  ]);
  return Number(rows[0]?.n ?? 0);
}
