import type { Queryable } from '../../db/queryable.js';

/**
 * A submission proved never created (the API refused the create with an HTTP status, or
 * reconciliation found no batch of it): `abandoned`, its requests back to `pending` for the next
 * batch. ONE statement (autocommit), guarded on `creating`.
 */
export async function abandonSubmission(db: Queryable, submissionId: string): Promise<void> {
  await db.query(
    `with s as (
       update agentpg_batch_submissions set state = 'abandoned', ended_at = now()
        where id = $1 and state = 'creating'
        returning id
     )
     update agentpg_batch_requests set state = 'pending', submission_id = null
      where submission_id in (select id from s) and state = 'submitting'`,
    [submissionId],
  );
}
