import type { Queryable } from '../db.js';

/**
 * ONE guarded statement: a queued run becomes `cancelled` right here; a running run gets
 * `cancel_requested_at`, and the trigger `agentpg_runs_cancel_notify` sends NOTIFY
 * agentpg_run_cancel so the instance executing it aborts at once. Returns the state after the
 * update, or null when the run was not queued/running (unknown or already finished).
 */
export async function requestCancel(db: Queryable, runId: string): Promise<{ state: string; jobId: string | null } | null> {
  const { rows } = await db.query<{ state: string; job_id: string | null }>(
    `update agentpg_runs set
        state = case when state = 'queued' then 'cancelled' else state end,
        finalized_at = case when state = 'queued' then now() else finalized_at end,
        state_changed_at = case when state = 'queued' then clock_timestamp() else state_changed_at end,
        cancel_requested_at = coalesce(cancel_requested_at, now())
      where id = $1 and state in ('queued', 'running')
      returning state, job_id`,
    [runId],
  );
  return rows[0] ? { state: rows[0].state, jobId: rows[0].job_id } : null;
}
