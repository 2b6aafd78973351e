import type { Queryable } from '../../db/queryable.js';
import type { RunState } from '../../runs/states.js';
import { scopeParam, type TenantScope } from './scope.js';

export interface RunStateCount {
  state: RunState;
  /** Runs in this state now that have not finished (queued, running, awaiting_input). */
  unfinished: number;
  /** Runs that finished in this state within the last minute, 5 minutes, hour (throughput). */
  lastMinute: number;
  last5Minutes: number;
  lastHour: number;
}

/**
 * Runs per state and throughput. agentpg_runs has no index on state (src/db/schema/runs.ts): the
 * unfinished runs are read through agentpg_runs_active_idx, the finished ones of the last hour
 * through agentpg_runs_finished_idx, so the overview never scans the whole table.
 */
export async function runStateCounts(db: Queryable, scope: TenantScope): Promise<RunStateCount[]> {
  const { rows } = await db.query<{
    state: RunState;
    unfinished: number;
    last_minute: number;
    last_5_minutes: number;
    last_hour: number;
  }>(
    `select state,
            count(*) filter (where finalized_at is null)::int as unfinished,
            count(*) filter (where finalized_at > now() - interval '1 minute')::int as last_minute,
            count(*) filter (where finalized_at > now() - interval '5 minutes')::int as last_5_minutes,
            count(*) filter (where finalized_at is not null)::int as last_hour
       from (select state, finalized_at from agentpg_runs
              where finalized_at is null and ($1::text[] is null or tenant_id = any($1))
             union all
             select state, finalized_at from agentpg_runs
              where finalized_at > now() - interval '1 hour' and ($1::text[] is null or tenant_id = any($1))) r
      group by state order by state`,
    [scopeParam(scope)],
  );
  return rows.map((r) => ({
    state: r.state,
    unfinished: r.unfinished,
    lastMinute: r.last_minute,
    last5Minutes: r.last_5_minutes,
    lastHour: r.last_hour,
  }));
}
