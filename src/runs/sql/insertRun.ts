import type { Queryable } from '../db.js';

/**
 * Inserts the run (state `queued`) inside the caller's enqueue transaction (which also inserts the
 * pg-boss job). The prompt becomes a message when the run starts (claimRuns). Returns null when
 * nothing was inserted: the session does not exist, or the idempotency key is already taken (see
 * findRunByIdempotencyKey).
 */
export async function insertRun(
  tx: Queryable,
  r: {
    sessionId: string;
    agentName: string;
    prompt: string;
    idempotencyKey: string | null;
    metadata: Record<string, unknown>;
    jobId: string;
  },
): Promise<{ id: string; tenantId: string } | null> {
  const { rows } = await tx.query<{ id: string; tenant_id: string }>(
    `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, idempotency_key, metadata, job_id)
     select s.id, $2, s.tenant_id, $3, $4, $5, $6 from agentpg_sessions s where s.id = $1
     on conflict (session_id, idempotency_key) where idempotency_key is not null do nothing
     returning id, tenant_id`,
    [r.sessionId, r.agentName, r.prompt, r.idempotencyKey, JSON.stringify(r.metadata), r.jobId],
  );
  return rows[0] ? { id: rows[0].id, tenantId: rows[0].tenant_id } : null;
}

export async function findRunByIdempotencyKey(db: Queryable, sessionId: string, key: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `select id from agentpg_runs where session_id = $1 and idempotency_key = $2`,
    [sessionId, key],
  );
  return rows[0]?.id ?? null;
}

/**
 * Serializes the enqueues of one session (transaction-level advisory lock, released at COMMIT) and
 * reports whether this transaction started too early: pg-boss orders a session's jobs by
 * created_on = the enqueue transaction's start time, so a transaction that began before another
 * one of the same session but commits after it would be ordered before a run that may already be
 * running. The caller then retries in a fresh transaction (a later start time), which keeps
 * created_at order = commit order = execution order.
 */
export async function lockSessionForEnqueue(tx: Queryable, sessionId: string): Promise<{ startedTooEarly: boolean }> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended('agentpg_session:' || $1::text, 0))`, [sessionId]);
  const { rows } = await tx.query<{ later: boolean }>(
    `select exists (select 1 from agentpg_runs where session_id = $1 and created_at >= now()) as later`,
    [sessionId],
  );
  return { startedTooEarly: rows[0].later };
}
