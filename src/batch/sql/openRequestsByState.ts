import type { Queryable } from '../../db/queryable.js';

export interface OpenRequestCount {
  state: 'pending' | 'submitting' | 'submitted';
  requests: number;
  /** When the oldest of them was stored by its run. */
  oldest: Date;
}

/**
 * Operators (`agentpg batches`): the requests not ended yet, by state, with the oldest. ONE
 * statement, on indexes only: `pending` by its partial index, the others through the open
 * submissions (their partial index, then agentpg_batch_requests_submission_idx), never a scan of
 * every request ever made.
 */
export async function openRequestsByState(db: Queryable): Promise<OpenRequestCount[]> {
  const { rows } = await db.query<{ state: OpenRequestCount['state']; requests: number; oldest: Date }>(
    `select state, count(*)::int as requests, min(created_at) as oldest
       from agentpg_batch_requests where state = 'pending' group by state
     union all
     select q.state, count(*)::int, min(q.created_at)
       from agentpg_batch_submissions s join agentpg_batch_requests q on q.submission_id = s.id
      where s.state in ('creating', 'in_progress') and q.state in ('submitting', 'submitted')
      group by q.state
     order by 1`,
  );
  return rows;
}
