import type { Queryable } from '../../db/queryable.js';

/**
 * The API refused a create for good (a 4xx other than 408/409/429: the requests themselves are
 * wrong): inside one transaction with resumeBatchWaits, each request of the submission `errored`
 * with the API's error envelope (the run then fails with its type through src/runs/failures.ts),
 * the submission `abandoned`. ONE statement. Returns the runs to resume.
 */
export async function failSubmissionRequests(tx: Queryable, submissionId: string, error: unknown): Promise<string[]> {
  const { rows } = await tx.query<{ run_id: string }>(
    `with s as (
       update agentpg_batch_submissions set state = 'abandoned', ended_at = now()
        where id = $1 and state = 'creating'
        returning id
     )
     update agentpg_batch_requests set state = 'errored', result = $2::jsonb, ended_at = now()
      where submission_id in (select id from s) and state = 'submitting'
      returning run_id`,
    [submissionId, JSON.stringify(error)],
  );
  return rows.map((r) => r.run_id);
}
