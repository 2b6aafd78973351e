import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes the session rows last, once nothing of theirs is left; child sessions that stay get
 * parent_session_id null (its foreign key). With `archive`, moved into agentpg_archive_sessions by
 * the same statement. Returns the rows deleted.
 */
export async function retireSessions(db: Queryable, sessionIds: string[], archive: boolean): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from agentpg_sessions s where s.id = any($1::uuid[]) returning s.*
     ), archived as (
       insert into agentpg_archive_sessions (id, tenant_id, data)
       select g.id, g.tenant_id, to_jsonb(g) from gone g where $2::boolean
     )
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
