import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { batchRequests, batchSubmissions } from '../../db/schema/index.js';

export type BatchRequestState =
  'pending' | 'submitting' | 'submitted' | 'succeeded' | 'errored' | 'canceled' | 'expired';

export interface BatchRequestRow {
  id: string;
  customId: string;
  turn: number;
  try: number;
  state: BatchRequestState;
  /** succeeded: the Message; errored: the API's ErrorResponse; else null. */
  result: unknown;
  /** When the run stored the request (the batched call's span starts there: src/tracing/runTrace.ts). */
  createdAt: Date;
  /** When its result (or end) was stored; null while it waits. */
  endedAt: Date | null;
  /** The API's id of the batch it went in, once created. */
  batchId: string | null;
}

/** The latest try of a run's model call for `turn` (its tool iteration), or null. ONE statement. */
export async function latestRequest(db: Queryable, runId: string, turn: number): Promise<BatchRequestRow | null> {
  const { rows } = await db.query<
    Pick<DbRow<typeof batchRequests>, 'id' | 'custom_id' | 'turn' | 'try' | 'result' | 'created_at' | 'ended_at'> &
      Pick<DbRow<typeof batchSubmissions>, 'batch_id'> & { state: BatchRequestState }
  >(
    `select q.id, q.custom_id, q.turn, q.try, q.state, q.result, q.created_at, q.ended_at, s.batch_id
       from agentpg_batch_requests q left join agentpg_batch_submissions s on s.id = q.submission_id
      where q.run_id = $1 and q.turn = $2 order by q.try desc limit 1`,
    [runId, turn],
  );
  const r = rows[0];
  return r
    ? {
        id: r.id,
        customId: r.custom_id,
        turn: r.turn,
        try: r.try,
        state: r.state,
        result: r.result,
        createdAt: r.created_at,
        endedAt: r.ended_at,
        batchId: r.batch_id,
      }
    : null;
}
