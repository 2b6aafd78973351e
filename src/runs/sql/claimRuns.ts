import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../rows.js';
import type { Run } from '../types.js';

/**
 * queued → running (or running → running for a run whose previous worker died) for every run of a
 * fetched batch, in ONE statement inside the fetch transaction: the claim is durable with the
 * fetch's commit (fetchRunJobs.ts). `attempts` is the fencing token: every later write of this execution
 * checks it, so a worker that lost its claim can no longer write.
 *
 * The same statement stores the prompt as the run's first message on its first claim (not at
 * enqueue): a session's messages then follow execution order, so a run queued behind another never
 * puts its prompt into the middle of the earlier run's conversation. started_at is clock_timestamp():
 * the fetch transaction may have begun before the session's previous run committed its end.
 */
export async function claimRuns(tx: Queryable, runIds: string[], instanceId: string): Promise<Run[]> {
  if (runIds.length === 0) return [];
  const { rows } = await tx.query<RunRow>(
    `with clock as materialized (select clock_timestamp() as t),
     claimed as (
       update agentpg_runs r set
           state = 'running',
           started_at = coalesce(r.started_at, clock.t),
           -- Every state change sets it (no trigger: see src/db/schema/runs.ts); a re-claim of a
           -- running run is not one.
           state_changed_at = case when r.state <> 'running' then clock.t else r.state_changed_at end,
           instance_id = $2,
           attempts = r.attempts + 1
         from clock
         where r.id = any($1::uuid[]) and r.state in ('queued', 'running', 'awaiting_input')
         returning r.*
     ), prompt as (
       insert into agentpg_messages (session_id, run_id, role, content)
       select c.session_id, c.id, 'user', jsonb_build_array(jsonb_build_object('type', 'text', 'text', c.prompt))
         from claimed c where c.attempts = 1
     )
     select * from claimed`,
    [runIds, instanceId],
  );
  return rows.map(mapRun);
}
