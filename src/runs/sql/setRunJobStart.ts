import type { Queryable } from '../../db/queryable.js';

/** The set-aside job of a waiting run comes due at `at` (agentpg_set_run_job_start, migration approvals). */
export async function setRunJobStart(tx: Queryable, jobId: string, at: Date): Promise<void> {
  await tx.query(`select agentpg_set_run_job_start($1, $2)`, [jobId, at]);
}
