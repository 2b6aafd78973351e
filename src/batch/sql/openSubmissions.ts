import type { Queryable } from '../../db/queryable.js';

export interface OpenSubmission {
  id: string;
  batchId: string | null;
  state: 'creating' | 'in_progress';
  createdAt: Date;
  /** Seconds since created_at, by the database clock. */
  ageMs: number;
  customIds: string[];
}

/** Submissions not ended yet, oldest first, with their requests' custom ids. ONE statement. */
export async function openSubmissions(db: Queryable): Promise<OpenSubmission[]> {
  const { rows } = await db.query(
    `select s.id, s.batch_id, s.state, s.created_at,
            (extract(epoch from now() - s.created_at) * 1000)::float8 as age_ms,
            coalesce(array_agg(q.custom_id) filter (where q.custom_id is not null), '{}') as custom_ids
       from agentpg_batch_submissions s
       left join agentpg_batch_requests q on q.submission_id = s.id
      where s.state in ('creating', 'in_progress')
      group by s.id order by s.created_at`,
  );
  return rows.map((r) => ({
    id: r.id,
    batchId: r.batch_id,
    state: r.state,
    createdAt: r.created_at,
    ageMs: Number(r.age_ms),
    customIds: r.custom_ids,
  }));
}
