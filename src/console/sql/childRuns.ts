import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../../runs/rows.js';
import type { Run } from '../../runs/types.js';
import { scopeParam, type TenantScope } from './scope.js';

/**
 * The runs of the sessions whose parent is this session (sub-agents' conversations), oldest first.
 * Scoped like every console query: a child session of another tenant stays hidden.
 */
export async function childRuns(db: Queryable, scope: TenantScope, sessionId: string): Promise<Run[]> {
  const { rows } = await db.query<RunRow>(
    `select r.* from agentpg_sessions s join agentpg_runs r on r.session_id = s.id
      where s.parent_session_id = $2 and ($1::text[] is null or r.tenant_id = any($1))
      order by r.created_at limit 200`,
    [scopeParam(scope), sessionId],
  );
  return rows.map(mapRun);
}
