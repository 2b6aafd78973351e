import type { Queryable } from '../../db/queryable.js';

export const RUN_TIMED_OUT_MESSAGE = 'run timed out';
export const RUN_TIMED_OUT_TYPE = 'timeout';

export interface StuckRun {
  id: string;
  jobId: string | null;
}

/**
 * Marks runs `running` for longer than the timeout as `failed` ("run timed out"). The clock is the
 * current running stretch (state_changed_at: set when the run last entered `running`), not its
 * first start: a run that waited a day for an approval, an answer or its children and was then
 * resumed has only been running since the resume. Guarded UPDATE:
 * the `state = 'running'` predicate is re-checked on each locked row, so a run that finished
 * meanwhile keeps its real outcome, and repeating the statement after a crash changes nothing
 * twice. Durable on its own autocommit; the caller then settles the runs' pg-boss jobs.
 * The clock is read in a CTE: Citus rejects volatile functions inside an UPDATE (docs/scaling.md).
 */
export async function failStuckRuns(db: Queryable, stuckRunTimeoutMs: number): Promise<StuckRun[]> {
  const { rows } = await db.query<{ id: string; job_id: string | null }>(
    `with clock as materialized (select clock_timestamp() as t)
     update agentpg_runs
        set state = 'failed', error_message = $2, error_type = $3, finalized_at = now(), state_changed_at = clock.t
       from clock
      where state = 'running' and finalized_at is null -- (agentpg_runs_active_idx)
        and state_changed_at < now() - make_interval(secs => $1::double precision / 1000)
      returning id, job_id`,
    [stuckRunTimeoutMs, RUN_TIMED_OUT_MESSAGE, RUN_TIMED_OUT_TYPE],
  );
  return rows.map((r) => ({ id: r.id, jobId: r.job_id }));
}
