import type { Queryable } from '../db/queryable.js';
import type { RunHandBack } from './handBackRuns.js';
import { findRunsOfDeadInstances } from './sql/findRunsOfDeadInstances.js';
import { freeAgentsOfDeadInstances } from './sql/freeAgentsOfDeadInstances.js';

/**
 * What is left behind by instances whose rows are gone, released, each step its own guarded
 * autocommit statement (safe to repeat, safe for several instances at once): their runs handed
 * back (handBack), then their long-running agents' owner fields freed. Shared by the cleanup pass
 * (rows deleted by heartbeat TTL) and instant failover (rows deleted when the liveness lock went).
 */
export async function releaseDeadInstances(
  db: Queryable,
  handBack: RunHandBack,
): Promise<{ releasedRuns: number; freedAgents: number }> {
  const runs = await findRunsOfDeadInstances(db);
  const releasedRuns = runs.length > 0 ? await handBack(runs) : 0;
  const freedAgents = (await freeAgentsOfDeadInstances(db)).length;
  return { releasedRuns, freedAgents };
}
