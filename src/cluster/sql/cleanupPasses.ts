import { PGBOSS_SCHEMA } from '../../db/migrate.js';
import type { Queryable } from '../../db/queryable.js';

export interface CleanupCounts {
  staleInstances: number;
  stuckRuns: number;
  releasedRuns: number;
  freedAgents: number;
}

/**
 * Records the start of a pass (durable on its own autocommit, before any cleanup work). A job
 * pg-boss hands out again after its runner died updates its own row rather than adding one. The
 * slot is read from pg-boss's job row in SQL: `singleton_on` is a timestamp WITHOUT time zone in
 * UTC, which node-postgres would misread as local time.
 */
export async function beginCleanupPass(
  db: Queryable,
  pass: { jobId: string | null; instanceId: string },
): Promise<{ id: number; slot: Date | null }> {
  const { rows } = await db.query<{ id: string; slot: Date | null }>(
    `insert into agentpg_cleanup_passes (job_id, slot, instance_id)
     values ($1, (select singleton_on at time zone 'UTC' from ${PGBOSS_SCHEMA}.job where id = $1), $2)
     on conflict (job_id) do update
       set instance_id = excluded.instance_id, started_at = now(), finished_at = null, error = null
     returning id, slot`,
    [pass.jobId, pass.instanceId],
  );
  return { id: Number(rows[0].id), slot: rows[0].slot };
}

/** Records the outcome of a pass (durable on its own autocommit). */
export async function finishCleanupPass(
  db: Queryable,
  id: number,
  counts: CleanupCounts,
  error: string | null,
): Promise<void> {
  await db.query(
    `update agentpg_cleanup_passes
        set finished_at = now(), stale_instances = $2, stuck_runs = $3, released_runs = $4, freed_agents = $5, error = $6
      where id = $1`,
    [id, counts.staleInstances, counts.stuckRuns, counts.releasedRuns, counts.freedAgents, error],
  );
}

/** Keeps the pass log bounded: rows older than the retention are deleted (index on started_at). */
export async function pruneCleanupPasses(db: Queryable, retentionMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from agentpg_cleanup_passes where started_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [retentionMs],
  );
  return rowCount ?? 0;
}
