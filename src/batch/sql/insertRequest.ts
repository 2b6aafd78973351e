import type { Queryable } from '../../db/queryable.js';

/**
 * A batch-mode run's model call, `pending` (not in a batch yet), inside the run's suspend
 * transaction (runCall.ts): it commits together with the run's `awaiting_input`. ON CONFLICT: a
 * second execution of the same claim cannot exist (fenced by the run lock before it), so a conflict
 * means the row is there already; nothing is inserted twice. ONE statement.
 */
export async function insertRequest(
  tx: Queryable,
  r: { runId: string; turn: number; try: number; customId: string; model: string; params: unknown },
): Promise<void> {
  await tx.query(
    `insert into agentpg_batch_requests (run_id, turn, try, custom_id, model, params)
     values ($1, $2, $3, $4, $5, $6::jsonb)
     on conflict (run_id, turn, try) do nothing`,
    [r.runId, r.turn, r.try, r.customId, r.model, JSON.stringify(r.params)],
  );
}
