import { PGBOSS_SCHEMA } from '../../db/migrate.js';
import type { Queryable } from '../../db/queryable.js';

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
 *
 * The active jobs and the live instances (few: one job per run in flight, one row per instance) are
 * read in materialized CTEs first: on Citus they are coordinator tables that a query on the
 * distributed agentpg_runs cannot join directly (docs/scaling.md).
 */
export async function findRunsOfDeadInstances(db: Queryable, limit = 1000): Promise<DeadInstanceRun[]> {
  const { rows } = await db.query<{
    id: string;
    instance_id: string;
    job_id: string;
    name: string;
    retry_count: number;
  }>(
    `with j as materialized (select id, name, retry_count from ${PGBOSS_SCHEMA}.job where state = 'active'),
          live as materialized (select id from agentpg_instances)
     select r.id, r.instance_id, r.job_id, j.name, j.retry_count
       from agentpg_runs r
       join j on j.id = r.job_id
      where r.state = 'running' and r.finalized_at is null -- (agentpg_runs_active_idx)
        and r.instance_id is not null
        and r.instance_id not in (select id from live)
      limit $1`,
    [limit],
  );
  return rows.map((r) => ({
    runId: r.id,
    instanceId: r.instance_id,
    jobId: r.job_id,
    queue: r.name,
    retryCount: r.retry_count,
  }));
}
