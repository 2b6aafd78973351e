import type { Queryable } from '../../db/queryable.js';

/**
 * A session with everything stored about it, as one JSON document built by one statement (one
 * snapshot: the parts agree with each other). Rows are as stored (column names as in the tables).
 * Null when there is no such live session.
 */
export async function exportSessionRows(db: Queryable, sessionId: string): Promise<SessionExportRows | null> {
  const { rows } = await db.query<{ doc: SessionExportRows }>(
    `select jsonb_build_object(
       'session', to_jsonb(s),
       'hold', (select to_jsonb(h) from agentpg_session_holds h where h.session_id = s.id),
       'runs', coalesce((select jsonb_agg(to_jsonb(r) order by r.created_at, r.id)
                           from agentpg_runs r where r.session_id = s.id), '[]'::jsonb),
       'messages', coalesce((select jsonb_agg(to_jsonb(m) order by m.seq)
                               from agentpg_messages m where m.session_id = s.id), '[]'::jsonb),
       'toolCalls', coalesce((select jsonb_agg(to_jsonb(t) order by t.created_at, t.id)
                                from agentpg_runs r join agentpg_tool_calls t on t.run_id = r.id
                               where r.session_id = s.id), '[]'::jsonb),
       'compactions', coalesce((select jsonb_agg(to_jsonb(c) order by c.number)
                                  from agentpg_compactions c where c.session_id = s.id), '[]'::jsonb)
     ) as doc
     from agentpg_sessions s where s.id = $1`,
    [sessionId],
  );
  return rows[0]?.doc ?? null;
}

export interface SessionExportRows {
  session: Record<string, unknown> & { tenant_id: string };
  hold: Record<string, unknown> | null;
  runs: Record<string, unknown>[];
  messages: Record<string, unknown>[];
  toolCalls: Record<string, unknown>[];
  compactions: Record<string, unknown>[];
}
