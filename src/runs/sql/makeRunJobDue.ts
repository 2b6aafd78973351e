import type { Queryable } from '../../db/queryable.js';

/**
 * A run's job handed back to `retry` becomes fetchable now instead of after pg-boss's retry delay
 * (1 s and growing): its worker is known dead, so there is nothing to wait for. Only a job still in
 * `retry` is touched (one a live worker fetched meanwhile is left alone). One autocommit statement.
 */
export async function makeRunJobDue(db: Queryable, jobId: string): Promise<boolean> {
  const { rows } = await db.query<{ due: boolean }>(`select agentpg_set_run_job_start($1, now()) as due`, [jobId]);
  return rows[0]?.due ?? false;
}
