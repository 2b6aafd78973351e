import { NotFoundError } from '../../errors.js';
import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { messages } from '../../db/schema/index.js';
import { mapSession, type SessionRow } from '../rows.js';
import type { Session, StoredMessage } from '../types.js';

/**
 * One INSERT (autocommit): the session is durable when it returns. A parent session must exist: the
 * statement locks it FOR KEY SHARE (what the former foreign key did, so it cannot be deleted before
 * this commits) and inserts nothing without it. No foreign key since migration citus_ready: a
 * parent is another session, which Citus cannot check across shards (docs/scaling.md).
 */
export async function insertSession(
  db: Queryable,
  s: {
    tenantId: string;
    identifier: string;
    agentName: string;
    parentSessionId?: string;
    metadata?: Record<string, unknown>;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `with parent as (select id from agentpg_sessions where id = $4::uuid for key share)
     insert into agentpg_sessions (tenant_id, identifier, agent_name, parent_session_id, metadata)
     select $1, $2, $3, $4::uuid, $5::jsonb
      where $4::uuid is null or exists (select 1 from parent)
     returning id`,
    [s.tenantId, s.identifier, s.agentName, s.parentSessionId ?? null, JSON.stringify(s.metadata ?? {})],
  );
  if (!rows[0]) throw new NotFoundError('session', s.parentSessionId ?? '');
  return rows[0].id;
}

export async function getSession(db: Queryable, id: string): Promise<Session | null> {
  const { rows } = await db.query<SessionRow>(`select * from agentpg_sessions where id = $1`, [id]);
  return rows[0] ? mapSession(rows[0]) : null;
}

/** The columns a StoredMessage is read from. */
export const MESSAGE_COLUMNS = `id, seq, session_id, run_id, role, content, stop_reason, input_tokens, output_tokens, created_at`;

/** Every message of a session in order (the conversation the model sees). */
export async function listSessionMessages(db: Queryable, sessionId: string): Promise<StoredMessage[]> {
  return (await listMessagesOfSessions(db, [sessionId])).get(sessionId) ?? [];
}

/** The messages of several sessions in one statement (the fetch transaction loads a whole batch). */
export async function listMessagesOfSessions(
  db: Queryable,
  sessionIds: string[],
): Promise<Map<string, StoredMessage[]>> {
  const out = new Map<string, StoredMessage[]>(sessionIds.map((id) => [id, []]));
  if (sessionIds.length === 0) return out;
  const { rows } = await db.query<MessageRow>(
    `select ${MESSAGE_COLUMNS} from agentpg_messages where session_id = any($1::uuid[]) order by session_id, seq`,
    [sessionIds],
  );
  for (const r of rows) out.get(r.session_id)?.push(mapMessage(r));
  return out;
}

/** The messages of one run in order (by session first: agentpg_messages_pkey is (session_id, seq)). */
export async function listRunMessages(db: Queryable, sessionId: string, runId: string): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `select ${MESSAGE_COLUMNS} from agentpg_messages where session_id = $1 and run_id = $2 order by seq`,
    [sessionId, runId],
  );
  return rows.map(mapMessage);
}

export type MessageRow = Pick<
  DbRow<typeof messages>,
  | 'id'
  | 'seq'
  | 'session_id'
  | 'run_id'
  | 'role'
  | 'content'
  | 'stop_reason'
  | 'input_tokens'
  | 'output_tokens'
  | 'created_at'
>;

export function mapMessage(r: MessageRow): StoredMessage {
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
