import type { Queryable } from '../../db/queryable.js';

/**
 * [batch] The enqueue's `batch` option on a run enqueued inside the caller's transaction (the
 * SQL function agentpg_enqueue_run does not take it): in that transaction, so it commits with the run.
 */
export async function setRunBatchMode(tx: Queryable, runId: string, batchMode: boolean): Promise<void> {
  await tx.query(`update agentpg_runs set batch_mode = $2 where id = $1`, [runId, batchMode]);
}
