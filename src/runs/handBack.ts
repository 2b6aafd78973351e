import type { Runtime } from '../runtime.js';
import { RUNS_QUEUE } from './queue.js';

/**
 * For cleanup (cluster module): hands the jobs of runs still `running` on a dead instance back to
 * pg-boss now, instead of waiting for their job heartbeat to lapse. Each job goes to `retry`; the
 * next worker to fetch it resumes the run from its last commit (the run stays `running` meanwhile;
 * no running → queued transition is needed). Returns how many jobs were handed back.
 * Only call it for an instance known to be dead: a live one would see its claims vanish (it then
 * aborts those runs, and they resume elsewhere).
 */
export async function handBackRunsOfInstance(rt: Runtime, instanceId: string): Promise<number> {
  const { rows } = await rt.pool.query<{ job_id: string }>(
    `select job_id from agentpg_runs where state = 'running' and instance_id = $1 and job_id is not null`,
    [instanceId],
  );
  if (rows.length === 0) return 0;
  const res = await rt.boss.fail(RUNS_QUEUE, rows.map((r) => r.job_id), { reason: `instance ${instanceId} is gone` });
  return (res as { affected?: number }).affected ?? 0;
}
