import type { Queryable } from '../../db/queryable.js';

/**
 * After lockRunForSuspend (the run row, fenced on our claim), ONE statement: the run's open tool
 * calls (their children still run) are locked FOR UPDATE, and if any is left the run goes
 * running → awaiting_input. The lock is what a child's delivery (trigger
 * agentpg_runs_deliver_to_parent, which UPDATEs the call) meets: a delivery that committed first
 * is seen here (the call no longer matches once the lock is granted); one that comes after finds
 * the run `awaiting_input` and makes its job due. Returns whether the run now waits.
 */
export async function markAwaitingChildren(tx: Queryable, runId: string): Promise<boolean> {
  const { rows } = await tx.query(
    `with open as (
       select id from agentpg_tool_calls where run_id = $1 and state in ('pending', 'running') for update
     ), waiting as (
       update agentpg_runs set state = 'awaiting_input', state_changed_at = clock_timestamp()
        where id = $1 and exists (select 1 from open)
        returning id
     )
     select id from waiting`,
    [runId],
  );
  return rows.length > 0;
}
