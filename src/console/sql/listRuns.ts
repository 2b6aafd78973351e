import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../../runs/rows.js';
import type { Run } from '../../runs/types.js';
import { scopeParam, type TenantScope } from './scope.js';

export interface RunFilter {
  state?: string;
  agentName?: string;
  tenantId?: string;
  sessionId?: string;
  limit: number;
}

/**
 * The runs whose state changed last, newest change first, filtered. As in the CLI's `runs list`:
 * unfinished runs through agentpg_runs_active_idx, finished ones by finalized_at
 * (agentpg_runs_finished_idx), since agentpg_runs has no index on state, agent or tenant.
 */
export async function listRuns(db: Queryable, scope: TenantScope, filter: RunFilter): Promise<Run[]> {
  const where = `($1::text[] is null or tenant_id = any($1)) and ($2::text is null or state = $2)
    and ($3::text is null or agent_name = $3) and ($4::text is null or tenant_id = $4)
    and ($5::uuid is null or session_id = $5)`;
  const { rows } = await db.query<RunRow & { changed_at: Date }>(
    `select * from (
       (select *, state_changed_at as changed_at from agentpg_runs
         where finalized_at is null and ${where} order by state_changed_at desc limit $6)
       union all
       (select *, finalized_at as changed_at from agentpg_runs
         where finalized_at is not null and ${where} order by finalized_at desc limit $6)
     ) r order by changed_at desc limit $6`,
    [
      scopeParam(scope),
      filter.state ?? null,
      filter.agentName ?? null,
      filter.tenantId ?? null,
      filter.sessionId ?? null,
      filter.limit,
    ],
  );
  return rows.map(mapRun);
}
