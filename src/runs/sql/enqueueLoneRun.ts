import type { Queryable } from '../../db/queryable.js';
import type { NewRun } from './insertRuns.js';

export type LoneEnqueueResult =
  | { kind: 'created'; runId: string; tenantId: string }
  | { kind: 'existing'; runId: string }
  | { kind: 'sessionNotFound' }
  /** A later-started enqueue of the session committed while this one waited for its lock: call again. */
  | { kind: 'tooEarly' };

/**
 * Enqueues ONE run in ONE autocommit statement (one round trip): the SQL function
 * agentpg_insert_run_with_job (drizzle/0029_fast_enqueue.sql) takes the session's enqueue lock
 * (lockSessionsForEnqueue's key), checks the session for a run that committed meanwhile with a
 * later start time (sessionsStartedTooEarly: then nothing is written, `tooEarly`), and inserts the
 * run with the given ids and its pg-boss job. The statement's own COMMIT makes run and job durable
 * together, or neither; the run state trigger's NOTIFY wakes the workers at that COMMIT. For the
 * pool, not a transaction: inside one, now() would be the transaction's start and the lock would
 * outlive the statement.
 */
export async function enqueueLoneRun(db: Queryable, run: NewRun & { runId: string }): Promise<LoneEnqueueResult> {
  const { rows } = await db.query<{ outcome: string; run_id: string | null; tenant_id: string | null }>(
    `select outcome, run_id, tenant_id
       from agentpg_insert_run_with_job($1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::text,
                                        $8::boolean, $9::uuid, $10::uuid, true)`,
    [
      run.sessionId,
      run.agentName,
      run.prompt,
      run.idempotencyKey,
      JSON.stringify(run.metadata),
      run.context === null ? null : JSON.stringify(run.context),
      run.traceParent,
      run.batchMode,
      run.runId,
      run.jobId,
    ],
  );
  const r = rows[0];
  switch (r.outcome) {
    case 'created':
      return { kind: 'created', runId: r.run_id!, tenantId: r.tenant_id! };
    case 'existing':
      return { kind: 'existing', runId: r.run_id! };
    case 'session_missing':
      return { kind: 'sessionNotFound' };
    case 'too_early':
      return { kind: 'tooEarly' };
    default:
      throw new Error(`agentpg_insert_run_with_job: unknown outcome ${r.outcome}`);
  }
}
