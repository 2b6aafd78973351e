import type { Queryable } from '../../db/queryable.js';

/**
 * Stores a run's traceparent if it has none yet (a run keeps the first one: an idempotent second
 * enqueue does not move it). Used where the insert itself cannot carry it: the enqueue inside the
 * caller's transaction, whose one-statement SQL function agentpg_enqueue_run has no such argument
 * (plain SQL callers may set the column themselves), and the first traced execution of a run
 * enqueued with no trace context (runTrace.ts).
 */
export async function setRunTraceParent(db: Queryable, runId: string, traceParent: string): Promise<void> {
  await db.query(`update agentpg_runs set trace_parent = $2 where id = $1 and trace_parent is null`, [
    runId,
    traceParent,
  ]);
}
