import type { Queryable } from '../../db/queryable.js';

export interface UnroutableAgent {
  agent: string;
  /** Runs of the agent that are queued while no live instance can run it. */
  runs: number;
  oldestCreatedAt: Date;
}

/**
 * The agents with queued runs that no live instance can run (view agentpg_unroutable_runs,
 * migration capability_routing), most runs first: `agentpg status`, the service's metrics and the
 * cleanup pass's warning read it. The view reads unfinished runs only (agentpg_runs_active_idx).
 */
export async function listUnroutableAgents(db: Queryable): Promise<UnroutableAgent[]> {
  const { rows } = await db.query<{ agent: string; runs: number; oldest: Date }>(
    `select agent_name as agent, count(*)::int as runs, min(created_at) as oldest
       from agentpg_unroutable_runs group by agent_name order by runs desc, agent_name`,
  );
  return rows.map((r) => ({ agent: r.agent, runs: r.runs, oldestCreatedAt: r.oldest }));
}
