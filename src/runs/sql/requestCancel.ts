import type { Queryable } from '../../db/queryable.js';

/**
 * ONE statement, the SQL function agentpg_request_cancel (migration agents_as_tools, replaced by
 * batch_cancel; the one way to cancel, also used by the cascade to child runs): a queued run becomes `cancelled` right here;
 * a running run gets `cancel_requested_at`, and the trigger `agentpg_runs_cancel_notify` sends
 * NOTIFY agentpg_run_cancel so the instance executing it aborts at once. A run awaiting input goes
 * back to `queued` with cancel_requested_at and its set-aside job comes due now: the worker that
 * claims it ends it `cancelled` like any execution does (its open tool calls answered, so the
 * stored transcript stays valid). The run's unfinished child runs are cancelled the same way in
 * the same transaction (trigger agentpg_runs_cancel_children). [batch] The run's batch requests
 * not ended yet become `canceled` in the same statement: never sent, and a result the API returns
 * for one already in a batch is never stored (src/batch/sql/storeResults.ts takes open ones only). Returns the state after the
 * update, or null when the run was not queued/running/awaiting_input (unknown or already finished).
 */
export async function requestCancel(
  db: Queryable,
  runId: string,
): Promise<{ state: string; jobId: string | null } | null> {
  const { rows } = await db.query<{ run_state: string; run_job_id: string | null }>(
    `select run_state, run_job_id from agentpg_request_cancel($1)`,
    [runId],
  );
  return rows[0] ? { state: rows[0].run_state, jobId: rows[0].run_job_id } : null;
}
