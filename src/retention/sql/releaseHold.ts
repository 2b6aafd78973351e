import type { Queryable } from '../../db/queryable.js';

/** Lifts a session's hold; false when it had none. */
export async function releaseHold(db: Queryable, sessionId: string): Promise<boolean> {
  const { rowCount } = await db.query(`delete from agentpg_session_holds where session_id = $1`, [sessionId]);
  return (rowCount ?? 0) > 0;
}
