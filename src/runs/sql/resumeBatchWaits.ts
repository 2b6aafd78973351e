import type { Queryable } from '../../db/queryable.js';

/**
 * [batch] Runs whose batch results were just stored (src/batch/sql/storeResults.ts), in the same
 * transaction: a run still `awaiting_input` goes back to `queued` and its set-aside job comes due
 * now (agentpg_set_run_job_start, as a decision does); the run state NOTIFY wakes the workers at
 * COMMIT. A run not waiting (cancelled meanwhile, or claimed and about to re-read its request)
 * is left alone: its execution reads the stored result itself. ONE statement. Returns how many
 * runs were resumed.
 */
export async function resumeBatchWaits(tx: Queryable, runIds: string[]): Promise<number> {
  if (runIds.length === 0) return 0;
  const { rows } = await tx.query<{ n: string }>(
    `with resumed as (
       update agentpg_runs set state = 'queued', state_changed_at = clock_timestamp()
        where id = any($1::uuid[]) and state = 'awaiting_input'
        returning job_id
     )
     select count(agentpg_set_run_job_start(job_id, agentpg_boss.job_now())) as n from resumed`,
    [runIds],
  );
  return Number(rows[0]?.n ?? 0);
}
