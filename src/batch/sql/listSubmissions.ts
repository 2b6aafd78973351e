import type { Queryable } from '../../db/queryable.js';

export interface SubmissionRow {
  id: string;
  batch_id: string | null;
  state: 'creating' | 'in_progress' | 'ended' | 'abandoned';
  requests: number;
  created_at: Date;
  submitted_at: Date | null;
  last_polled_at: Date | null;
  ended_at: Date | null;
}

/**
 * Operators (`agentpg batches`): every open submission (`creating`, `in_progress`; oldest first,
 * by their partial index), then the `limit` that ended last. ONE statement.
 */
export async function listSubmissions(db: Queryable, limit: number): Promise<SubmissionRow[]> {
  const columns = `id, batch_id, state, request_count as requests, created_at, submitted_at, last_polled_at, ended_at`;
  const { rows } = await db.query<SubmissionRow>(
    `(select ${columns} from agentpg_batch_submissions
       where state in ('creating', 'in_progress') order by created_at)
     union all
     (select ${columns} from agentpg_batch_submissions
       where state in ('ended', 'abandoned') order by ended_at desc limit $1)`,
    [limit],
  );
  return rows;
}
