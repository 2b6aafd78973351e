import type { Queryable } from '../../cluster/sql/queryable.js';

export interface ChangedRunRow {
  id: string;
  session_id: string;
  agent_name: string;
  tenant_id: string;
  state: string;
  instance_id: string | null;
  state_changed_at: Date;
}

/**
 * Runs whose state changed at or after `since` (agentpg_runs.state_changed_at, kept by the
 * cluster_triggers migration; index agentpg_runs_state_changed_idx), oldest change first.
 */
export async function runsChangedSince(db: Queryable, since: Date, limit: number): Promise<ChangedRunRow[]> {
  const { rows } = await db.query<ChangedRunRow>(
    `select id, session_id, agent_name, tenant_id, state, instance_id, state_changed_at
       from agentpg_runs
      where state_changed_at >= $1
      order by state_changed_at, id
      limit $2`,
    [since, limit],
  );
  return rows;
}
