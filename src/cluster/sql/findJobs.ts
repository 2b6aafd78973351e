import { PGBOSS_SCHEMA } from '../../db/migrate.js';
import type { Queryable } from '../../db/queryable.js';

export interface BossJobRef {
  id: string;
  /** The pg-boss queue the job is in. */
  name: string;
  state: string;
  retryCount: number;
}

/**
 * Reads pg-boss's job table (read only: every change goes through the pg-boss API) to learn the
 * queue and attempt of jobs agentpg knows only by id (agentpg_runs.job_id).
 */
export async function findJobs(db: Queryable, jobIds: string[]): Promise<BossJobRef[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; name: string; state: string; retry_count: number }>(
    `select id, name, state::text as state, retry_count from ${PGBOSS_SCHEMA}.job where id = any($1::uuid[])`,
    [jobIds],
  );
  return rows.map((r) => ({ id: r.id, name: r.name, state: r.state, retryCount: r.retry_count }));
}
