import { NotFoundError } from '../../errors.js';
import type { Queryable } from '../db.js';
import { mapSession } from '../rows.js';
import type { Session } from '../types.js';

/** One INSERT (autocommit): the session is durable when it returns. */
export async function insertSession(
  db: Queryable,
  s: { tenantId: string; identifier: string; agentName: string; parentSessionId?: string; metadata?: Record<string, unknown> },
): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(
      `insert into agentpg_sessions (tenant_id, identifier, agent_name, parent_session_id, metadata)
       values ($1, $2, $3, $4, $5) returning id`,
      [s.tenantId, s.identifier, s.agentName, s.parentSessionId ?? null, JSON.stringify(s.metadata ?? {})],
    );
    return rows[0].id;
  } catch (err) {
    // 23503: the parent session does not exist.
    if ((err as { code?: string }).code === '23503') throw new NotFoundError('session', s.parentSessionId ?? '');
    throw err;
  }
}

export async function getSession(db: Queryable, id: string): Promise<Session | null> {
  const { rows } = await db.query(`select * from agentpg_sessions where id = $1`, [id]);
  return rows[0] ? mapSession(rows[0]) : null;
}

export interface StoredMessage {
  id: string;
  seq: number;
  runId: string | null;
  role: 'user' | 'assistant';
  content: any[];
  stopReason: string | null;
  inputTokens: number;
  outputTokens: number;
  createdAt: Date;
}

/** Every message of a session in order (the conversation the model sees). */
export async function listSessionMessages(db: Queryable, sessionId: string): Promise<StoredMessage[]> {
  return (await listMessagesOfSessions(db, [sessionId])).get(sessionId) ?? [];
}

/** The messages of several sessions in one statement (the fetch transaction loads a whole batch). */
export async function listMessagesOfSessions(db: Queryable, sessionIds: string[]): Promise<Map<string, StoredMessage[]>> {
  const out = new Map<string, StoredMessage[]>(sessionIds.map((id) => [id, []]));
  if (sessionIds.length === 0) return out;
  const { rows } = await db.query(
    `select id, seq, session_id, run_id, role, content, stop_reason, input_tokens, output_tokens, created_at
       from agentpg_messages where session_id = any($1::uuid[]) order by session_id, seq`,
    [sessionIds],
  );
  for (const r of rows) out.get(r.session_id)?.push(mapMessage(r));
  return out;
}

/** The messages of one run in order (by session first: agentpg_messages_pkey is (session_id, seq)). */
export async function listRunMessages(db: Queryable, sessionId: string, runId: string): Promise<StoredMessage[]> {
  const { rows } = await db.query(
    `select id, seq, session_id, run_id, role, content, stop_reason, input_tokens, output_tokens, created_at
       from agentpg_messages where session_id = $1 and run_id = $2 order by seq`,
    [sessionId, runId],
  );
  return rows.map(mapMessage);
}

function mapMessage(r: Record<string, any>): StoredMessage {
  return {
    id: r.id,
    seq: Number(r.seq),
    runId: r.run_id,
    role: r.role,
    content: r.content,
    stopReason: r.stop_reason,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    createdAt: r.created_at,
  };
}
