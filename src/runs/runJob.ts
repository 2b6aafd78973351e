import type { JobInsert } from 'pg-boss';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import type { RunJobData } from './queue.js';
import { RUNS_QUEUE } from './queueName.js';
import { routeKeyOf } from './routing.js';

/** The pg-boss job of a new run: the one shape, for enqueued runs and child runs alike. */
export function runJobInsert(r: {
  jobId: string;
  runId: string;
  agentName: string;
  sessionId: string;
  tenantId: string;
}): JobInsert<RunJobData> {
  return {
    id: r.jobId,
    data: { runId: r.runId, agentName: r.agentName },
    // key_strict_fifo: one session's runs start in order and never overlap.
    singletonKey: r.sessionId,
    // groupConcurrency (the tenant limit) counts active jobs per group.
    group: { id: r.tenantId },
    // Only instances capable of the agent fetch it (routing.ts).
    priority: routeKeyOf(r.agentName),
  };
}

/** New runs' jobs in ONE statement through our transaction; every one of them must be inserted. */
export async function insertRunJobs(
  boss: Runtime['boss'],
  jobs: JobInsert<RunJobData>[],
  tx: Parameters<typeof bossDb>[0],
): Promise<void> {
  if (jobs.length === 0) return;
  const ids = (await boss.insert(RUNS_QUEUE, jobs, { db: bossDb(tx), returnId: true })) ?? [];
  const accepted = new Set(ids);
  const refused = jobs.filter((j) => !accepted.has(j.id!));
  if (refused.length > 0) {
    throw new Error(`pg-boss did not accept the job of run ${refused.map((j) => j.data!.runId).join(', ')}`);
  }
}
