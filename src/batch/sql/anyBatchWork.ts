import type { Queryable } from '../../db/queryable.js';

/**
 * Whether a poll pass has anything to do: a pending request to send, or a submission still open
 * (`creating` to reconcile, `in_progress` to poll). ONE statement on the two partial indexes; a
 * pass with nothing to do then opens no pass-lock connection (README "Connections").
 */
export async function anyBatchWork(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>(
    `select exists (select 1 from agentpg_batch_requests where state = 'pending')
         or exists (select 1 from agentpg_batch_submissions where state in ('creating', 'in_progress')) as any`,
  );
  return rows[0]?.any ?? false;
}
