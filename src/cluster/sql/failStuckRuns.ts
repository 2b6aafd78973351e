import type { Queryable } from './queryable.js';

export const RUN_TIMED_OUT_MESSAGE = 'run timed out';
export const RUN_TIMED_OUT_TYPE = 'timeout';

export interface StuckRun {
  id: string;
  jobId: string | null;
}

/**
 * Marks runs `running` for longer than the timeout as `failed` ("run timed out"). Guarded UPDATE:
 * the `state = 'running'` predicate is re-checked on each locked row, so a run that finished
 * meanwhile keeps its real outcome, and repeating the statement after a crash changes nothing
 * twice. Durable on its own autocommit; the caller then settles the runs' pg-boss jobs.
 */
export async function failStuckRuns(db: Queryable, stuckRunTimeoutMs: number): Promise<StuckRun[]> {
  const { rows } = await db.query<{ id: string; job_id: string | null }>(
    `update agentpg_runs
        set state = 'failed', error_message = $2, error_type = $3, finalized_at = now(), state_changed_at = clock_timestamp()
      where state = 'running' and finalized_at is null -- (agentpg_runs_active_idx)
        and started_at < now() - make_interval(secs => $1::double precision / 1000)
      returning id, job_id`,
    [stuckRunTimeoutMs, RUN_TIMED_OUT_MESSAGE, RUN_TIMED_OUT_TYPE],
  );
  return rows.map((r) => ({ id: r.id, jobId: r.job_id }));
}
