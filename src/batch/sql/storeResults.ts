import type { Queryable } from '../../db/queryable.js';

export interface StoredResult {
  customId: string;
  type: 'succeeded' | 'errored' | 'canceled' | 'expired';
  /** succeeded: the Message; errored: the ErrorResponse; else null. */
  result: unknown;
}

/**
 * Inside the results transaction (poll.ts storeBatchResults): each result on its request, only on
 * a request of this submission still waiting for one (a pass that stored them before, then died
 * before ending the submission, stores nothing twice). ONE statement. Returns the runs whose
 * requests got a result.
 */
export async function storeResults(tx: Queryable, submissionId: string, results: StoredResult[]): Promise<string[]> {
  if (results.length === 0) return [];
  const { rows } = await tx.query<{ run_id: string }>(
    `update agentpg_batch_requests q set state = i.type, result = i.result, ended_at = now()
       from json_to_recordset($2::json) as i(custom_id text, type text, result jsonb)
      where q.custom_id = i.custom_id and q.submission_id = $1 and q.state in ('submitting', 'submitted')
      returning q.run_id`,
    [submissionId, JSON.stringify(results.map((r) => ({ custom_id: r.customId, type: r.type, result: r.result })))],
  );
  return rows.map((r) => r.run_id);
}
