import type { Queryable } from '../../db/queryable.js';

export type BatchRequestState =
  'pending' | 'submitting' | 'submitted' | 'succeeded' | 'errored' | 'canceled' | 'expired';

export interface BatchRequestRow {
  id: string;
  customId: string;
  turn: number;
  try: number;
  state: BatchRequestState;
  /** succeeded: the Message; errored: the API's ErrorResponse; else null. */
  result: any;
}

/** The latest try of a run's model call for `turn` (its tool iteration), or null. ONE statement. */
export async function latestRequest(db: Queryable, runId: string, turn: number): Promise<BatchRequestRow | null> {
  const { rows } = await db.query(
    `select id, custom_id, turn, try, state, result from agentpg_batch_requests
      where run_id = $1 and turn = $2 order by try desc limit 1`,
    [runId, turn],
  );
  const r = rows[0];
  return r ? { id: r.id, customId: r.custom_id, turn: r.turn, try: r.try, state: r.state, result: r.result } : null;
}
