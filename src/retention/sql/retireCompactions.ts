import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes the sessions' compactions (their summaries go with the messages they stood in for); with
 * `archive`, moved into agentpg_archive_compactions by the same statement. Returns the rows deleted.
 */
export async function retireCompactions(db: Queryable, sessionIds: string[], archive: boolean): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from agentpg_compactions c where c.session_id = any($1::uuid[]) returning c.*
     ), archived as (
       insert into agentpg_archive_compactions (session_id, number, data)
       select g.session_id, g.number, to_jsonb(g) from gone g where $2::boolean
     )
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
