import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { runs, sessions } from '../../db/schema/index.js';
import { scopeParam, type TenantScope } from './scope.js';

export interface SessionSummary {
  id: string;
  tenantId: string;
  identifier: string;
  agentName: string | null;
  parentSessionId: string | null;
  createdAt: Date;
  updatedAt: Date;
  runs: number;
  /** The state of the session's newest run, null when it has none. */
  lastRunState: string | null;
  lastRunAt: Date | null;
}

/**
 * The newest sessions (optionally of one tenant), each with its run count and newest run (through
 * agentpg_runs_session_idx). Sessions have no index on created_at: this reads the table's top
 * `limit` by a sort, fine for a console page but not for a hot path.
 */
export async function listSessions(
  db: Queryable,
  scope: TenantScope,
  filter: { tenantId?: string; limit: number },
): Promise<SessionSummary[]> {
  const { rows } = await db.query<
    Pick<
      DbRow<typeof sessions>,
      'id' | 'tenant_id' | 'identifier' | 'agent_name' | 'parent_session_id' | 'created_at' | 'updated_at'
    > & { runs: number; last_run_state: DbRow<typeof runs>['state'] | null; last_run_at: Date | null }
  >(
    `select s.id, s.tenant_id, s.identifier, s.agent_name, s.parent_session_id, s.created_at, s.updated_at,
            (select count(*)::int from agentpg_runs r where r.session_id = s.id) as runs,
            last.state as last_run_state, last.created_at as last_run_at
       from agentpg_sessions s
       left join lateral (select state, created_at from agentpg_runs r where r.session_id = s.id
                           order by created_at desc limit 1) last on true
      where ($1::text[] is null or s.tenant_id = any($1)) and ($2::text is null or s.tenant_id = $2)
      order by s.created_at desc, s.id limit $3`,
    [scopeParam(scope), filter.tenantId ?? null, filter.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    identifier: r.identifier,
    agentName: r.agent_name,
    parentSessionId: r.parent_session_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    runs: r.runs,
    lastRunState: r.last_run_state,
    lastRunAt: r.last_run_at,
  }));
}
