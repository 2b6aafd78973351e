import { PGBOSS_SCHEMA } from '../../db/migrate.js';
import type { Queryable } from './queryable.js';

export interface DeadInstanceRun {
  runId: string;
  instanceId: string;
  jobId: string;
  /** The pg-boss queue of the job. */
  queue: string;
  /** The attempt the dead instance was holding; settling is fenced on it. */
  retryCount: number;
}

/**
 * Runs still `running` on an instance that no longer exists, whose pg-boss job is still `active`
 * (held by the dead worker). Nothing is changed here; releaseRunsOfDeadInstances hands them back.
 * A job pg-boss already retried on its own (heartbeat monitor) is no longer `active` for that
 * attempt and is skipped, which is what makes repeating a pass harmless.
 */
export async function findRunsOfDeadInstances(db: Queryable, limit = 1000): Promise<DeadInstanceRun[]> {
  const { rows } = await db.query<{ id: string; instance_id: string; job_id: string; name: string; retry_count: number }>(
    `select r.id, r.instance_id, r.job_id, j.name, j.retry_count
       from agentpg_runs r
       join ${PGBOSS_SCHEMA}.job j on j.id = r.job_id
      where r.state = 'running' and r.finalized_at is null -- (agentpg_runs_active_idx)
        and r.instance_id is not null
        and not exists (select 1 from agentpg_instances i where i.id = r.instance_id)
        and j.state = 'active'
      limit $1`,
    [limit],
  );
  return rows.map((r) => ({ runId: r.id, instanceId: r.instance_id, jobId: r.job_id, queue: r.name, retryCount: r.retry_count }));
}
