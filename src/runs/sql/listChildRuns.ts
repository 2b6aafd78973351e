import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../rows.js';
import type { Run } from '../types.js';

/** The child runs a run started (agents as tools), oldest first (agentpg_runs_parent_idx). */
export async function listChildRuns(db: Queryable, parentRunId: string): Promise<Run[]> {
  const { rows } = await db.query<RunRow>(
    `select * from agentpg_runs where parent_run_id = $1 order by created_at, id`,
    [parentRunId],
  );
  return rows.map(mapRun);
}
