import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes the tool calls of the sessions' runs (found through the runs, then
 * agentpg_tool_calls_run_tool_use_idx); with `archive`, the same statement first copies each row
 * into agentpg_archive_tool_calls, so a row is moved or stays, never both or neither. Returns the
 * rows deleted.
 */
export async function retireToolCalls(db: Queryable, sessionIds: string[], archive: boolean): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from agentpg_tool_calls t using agentpg_runs r
        where r.session_id = any($1::uuid[]) and t.run_id = r.id
       returning t.*, r.session_id as retired_session_id
     ), archived as (
       insert into agentpg_archive_tool_calls (id, session_id, run_id, data)
       select g.id, g.retired_session_id, g.run_id, to_jsonb(g) - 'retired_session_id' from gone g where $2::boolean
     )
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
