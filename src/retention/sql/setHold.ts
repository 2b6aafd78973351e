import type { Queryable } from '../../db/queryable.js';

export interface SessionHold {
  sessionId: string;
  reason: string | null;
  heldBy: string | null;
  heldAt: Date;
}

/**
 * Puts a session under hold (one autocommit INSERT: the hold is in force when it returns). A
 * second hold replaces the reason and holder. Null when no such session exists (the foreign key).
 */
export async function setHold(
  db: Queryable,
  h: { sessionId: string; reason: string | null; heldBy: string | null },
): Promise<SessionHold | null> {
  try {
    const { rows } = await db.query<{
      session_id: string;
      reason: string | null;
      held_by: string | null;
      held_at: Date;
    }>(
      `insert into agentpg_session_holds (session_id, reason, held_by) values ($1, $2, $3)
       on conflict (session_id) do update set reason = excluded.reason, held_by = excluded.held_by
       returning session_id, reason, held_by, held_at`,
      [h.sessionId, h.reason, h.heldBy],
    );
    const r = rows[0];
    return { sessionId: r.session_id, reason: r.reason, heldBy: r.held_by, heldAt: r.held_at };
  } catch (err) {
    // 23503: the session does not exist (never existed, or was retired first).
    if ((err as { code?: string }).code === '23503') return null;
    throw err;
  }
}
