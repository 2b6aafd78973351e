import { NotFoundError } from '../../errors.js';
import type { Queryable } from '../../db/queryable.js';
import type { NewRun } from './insertRuns.js';

/**
 * Enqueues one run through the caller's own transaction in ONE statement: the SQL function
 * agentpg_enqueue_run (drizzle/0011_enqueue_run_function.sql; route keys since 0015; since 0029 it
 * inserts through agentpg_insert_run_with_job, as a lone enqueue does) inserts the run and its pg-boss job
 * there, so both exist if and only if the caller's transaction commits, and the run state trigger's
 * NOTIFY wakes the workers at that COMMIT. The same function serves plain SQL callers, so the
 * library and psql enqueue one way. Returns the run id (the existing run on an idempotency hit).
 * A missing session raises inside the caller's transaction (which is then aborted, as after any
 * failed statement) and is thrown as NotFoundError.
 */
export async function enqueueRunInTransaction(
  tx: Queryable,
  run: Pick<NewRun, 'sessionId' | 'agentName' | 'prompt' | 'idempotencyKey' | 'metadata' | 'context'>,
): Promise<string> {
  try {
    const { rows } = await tx.query<{ id: string }>(
      `select agentpg_enqueue_run($1::uuid, $2::text, $3::text, $4::text, $5::jsonb) as id`,
      [run.sessionId, run.agentName, run.prompt, run.idempotencyKey, JSON.stringify(run.metadata)],
    );
    if (run.context !== null) {
      // A second statement, only when a context is given (the SQL function takes none). Only a run
      // created by this transaction (created_at = its start time) gets it, not the run an
      // idempotency key found.
      await tx.query(`update agentpg_runs set context = $2::jsonb where id = $1 and created_at = now()`, [
        rows[0].id,
        JSON.stringify(run.context),
      ]);
    }
    return rows[0].id;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'P0002' && /session .* not found/.test(e.message ?? ''))
      throw new NotFoundError('session', run.sessionId);
    throw err;
  }
}
