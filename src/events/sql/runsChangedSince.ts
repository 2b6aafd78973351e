import type { Queryable } from '../../db/queryable.js';

export interface ChangedRunRow {
  id: string;
  session_id: string;
  agent_name: string;
  tenant_id: string;
  state: string;
  instance_id: string | null;
  parent_run_id: string | null;
  depth: number;
  /** When the run last changed state: state_changed_at, or finalized_at for a finished run. */
  changed_at: Date;
}

/**
 * Runs whose state changed at or after `since`, oldest change first. Read through the two partial
 * indexes of agentpg_runs (state_changed_at has no index: the claim changes it and must stay a
 * HOT update): the unfinished runs (agentpg_runs_active_idx, few) filtered on state_changed_at,
 * and the finished runs by finalized_at (agentpg_runs_finished_idx), their last change, which
 * every terminal run carries (agentpg_runs_finalized_check). Like state_changed_at, finalized_at
 * is taken before the COMMIT that sends the NOTIFY; the caller's margin covers that gap.
 */
export async function runsChangedSince(db: Queryable, since: Date, limit: number): Promise<ChangedRunRow[]> {
  const { rows } = await db.query<ChangedRunRow>(
    `select * from (
       select id, session_id, agent_name, tenant_id, state, instance_id, parent_run_id, depth, state_changed_at as changed_at
         from agentpg_runs where finalized_at is null and state_changed_at >= $1
       union all
       select id, session_id, agent_name, tenant_id, state, instance_id, parent_run_id, depth, finalized_at as changed_at
         from agentpg_runs where finalized_at >= $1
     ) changed
     order by changed_at, id
     limit $2`,
    [since, limit],
  );
  return rows;
}
