import type { Queryable } from '../../db/queryable.js';

/**
 * Step `batch_recorded`, ONE statement (autocommit): the API's batch id on the submission
 * (`in_progress`) and its requests `submitted`. Guarded on `creating`: a reconciliation that
 * adopted or abandoned the submission meanwhile wins. Returns whether it was recorded.
 */
export async function recordBatchCreated(db: Queryable, submissionId: string, batchId: string): Promise<boolean> {
  const { rows } = await db.query(
    `with s as (
       update agentpg_batch_submissions set batch_id = $2, state = 'in_progress', submitted_at = now()
        where id = $1 and state = 'creating'
        returning id
     ), q as (
       update agentpg_batch_requests set state = 'submitted'
        where submission_id in (select id from s) and state = 'submitting'
     )
     select id from s`,
    [submissionId, batchId],
  );
  return rows.length > 0;
}
