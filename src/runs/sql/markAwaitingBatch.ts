import type { Queryable } from '../../db/queryable.js';

/**
 * [batch] After lockRunForSuspend (the run row, fenced on our claim), inside the batch suspend
 * transaction (src/batch/runCall.ts): running → awaiting_input, waiting for its batch result. The
 * run is woken by resumeBatchWaits when the poll pass stores the result.
 */
export async function markAwaitingBatch(tx: Queryable, runId: string): Promise<void> {
  await tx.query(
    `update agentpg_runs set state = 'awaiting_input', state_changed_at = clock_timestamp() where id = $1`,
    [runId],
  );
}
