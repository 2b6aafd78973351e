import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes every message of the sessions (agentpg_messages_pkey range per session), the messages a
 * compaction archived included; with `archive`, moved into agentpg_archive_messages by the same
 * statement. Returns the rows deleted.
 */
export async function retireMessages(db: Queryable, sessionIds: string[], archive: boolean): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from agentpg_messages m where m.session_id = any($1::uuid[]) returning m.*
     ), archived as (
       insert into agentpg_archive_messages (session_id, seq, data)
       select g.session_id, g.seq, to_jsonb(g) from gone g where $2::boolean
     )
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
