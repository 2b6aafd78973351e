import type { Queryable } from '../../db/queryable.js';

export interface CleanupPassSummary {
  id: number;
  instanceId: string;
  slot: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  staleInstances: number;
  stuckRuns: number;
  releasedRuns: number;
  freedAgents: number;
  error: string | null;
}

/** The latest cleanup passes, newest first (agentpg_cleanup_passes_started_idx). */
export async function recentCleanupPasses(db: Queryable, limit: number): Promise<CleanupPassSummary[]> {
  const { rows } = await db.query<{
    id: string | number;
    instance_id: string;
    slot: Date | null;
    started_at: Date;
    finished_at: Date | null;
    stale_instances: number;
    stuck_runs: number;
    released_runs: number;
    freed_agents: number;
    error: string | null;
  }>(
    `select id, instance_id, slot, started_at, finished_at, stale_instances, stuck_runs, released_runs,
            freed_agents, error
       from agentpg_cleanup_passes order by started_at desc limit $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    instanceId: r.instance_id,
    slot: r.slot,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    staleInstances: r.stale_instances,
    stuckRuns: r.stuck_runs,
    releasedRuns: r.released_runs,
    freedAgents: r.freed_agents,
    error: r.error,
  }));
}
