import type { Queryable } from '../../db/queryable.js';

/** A poll found the batch still processing: when it was last looked at (operators, the view). */
export async function touchSubmission(db: Queryable, submissionId: string): Promise<void> {
  await db.query(`update agentpg_batch_submissions set last_polled_at = now() where id = $1`, [submissionId]);
}
