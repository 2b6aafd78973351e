import type { Queryable } from '../../db/queryable.js';

/**
 * Inside the results transaction, after storeResults: the submission `ended` (its batch id set,
 * for a submission adopted by reconciliation). Requests of it the results did not name (the API
 * always names every one; defensive) are `expired`, so no run waits forever. ONE statement.
 * Returns the runs of such requests.
 */
export async function endSubmission(tx: Queryable, submissionId: string, batchId: string): Promise<string[]> {
  const { rows } = await tx.query<{ run_id: string }>(
    `with s as (
       update agentpg_batch_submissions set state = 'ended', ended_at = now(), batch_id = $2,
              submitted_at = coalesce(submitted_at, now())
        where id = $1
        returning id
     )
     update agentpg_batch_requests set state = 'expired', ended_at = now()
      where submission_id in (select id from s) and state in ('submitting', 'submitted')
      returning run_id`,
    [submissionId, batchId],
  );
  return rows.map((r) => r.run_id);
}
