import type Anthropic from '@anthropic-ai/sdk';
import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { batchRequests } from '../../db/schema/index.js';

/**
 * Step `submission_recorded`, ONE statement (autocommit, durable at its COMMIT), BEFORE the create
 * request is sent: a submission row (`creating`) and up to `limit` pending requests of runs still
 * waiting, oldest first, moved to it (`submitting`). From this commit on these requests belong to
 * this submission until it is recorded as created or proved never created (reconcile.ts), so no
 * other pass sends them again. Returns the requests to send (empty: nothing pending, and no row).
 */
export async function recordSubmission(
  db: Queryable,
  submissionId: string,
  limit: number,
): Promise<Array<{ customId: string; params: Anthropic.MessageCreateParamsNonStreaming }>> {
  const { rows } = await db.query<Pick<DbRow<typeof batchRequests>, 'custom_id' | 'params'>>(
    `with picked as (
       select q.id from agentpg_batch_requests q join agentpg_runs r on r.id = q.run_id
        where q.state = 'pending' and r.state = 'awaiting_input'
        order by q.created_at limit $2
        for update of q skip locked
     ), moved as (
       update agentpg_batch_requests q set state = 'submitting', submission_id = $1
         from picked where q.id = picked.id
         returning q.custom_id, q.params
     ), submission as (
       insert into agentpg_batch_submissions (id, request_count)
       select $1, count(*) from moved having count(*) > 0
     )
     select custom_id, params from moved`,
    [submissionId, limit],
  );
  // params are stored by the run's suspend transaction from the very request it would have sent.
  return rows.map((r) => ({ customId: r.custom_id, params: r.params as Anthropic.MessageCreateParamsNonStreaming }));
}
