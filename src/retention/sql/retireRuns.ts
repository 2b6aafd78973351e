import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes the sessions' runs (agentpg_runs_session_idx), after their tool calls and messages: the
 * delete trigger agentpg_runs_delete_children then finds nothing left. Child runs of these runs in
 * sessions that stay get parent_run_id null (its foreign key). With `archive`, moved into
 * agentpg_archive_runs by the same statement. Returns the rows deleted.
 */
export async function retireRuns(db: Queryable, sessionIds: string[], archive: boolean): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from agentpg_runs r where r.session_id = any($1::uuid[]) returning r.*
     ), archived as (
       insert into agentpg_archive_runs (id, session_id, data)
       select g.id, g.session_id, to_jsonb(g) from gone g where $2::boolean
     )
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
