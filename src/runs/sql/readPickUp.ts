import type { Queryable } from '../../db/queryable.js';
import type { LiveHistory } from './liveHistory.js';
import { mapCompaction, type CompactionRow } from './compactionRows.js';
import { mapMessage, type MessageRow } from './sessions.js';
import { mapToolCall, type ToolCallDbRow, type ToolCallRow } from './toolCalls.js';

export interface PickUp {
  /** Per session: the latest compaction and the messages after it. */
  live: Map<string, LiveHistory>;
  /** Per resumed run: its tool calls, oldest first. */
  toolCalls: Map<string, ToolCallRow[]>;
}

/** $1: the sessions, $2: the resumed runs (see readPickUp). */
export const PICK_UP_SQL = `with latest as materialized (
     select distinct on (c.session_id) c.* from agentpg_compactions c
      where c.session_id = any($1::uuid[])
      order by c.session_id, c.number desc
   ), bounds as (
     select s.session_id, coalesce(l.through_seq, 0) as after_seq
       from unnest($1::uuid[]) as s(session_id) left join latest l on l.session_id = s.session_id
   )
   select 'm' as kind, m.session_id, m.seq, m.id, m.run_id, m.role, m.content, m.stop_reason,
          m.input_tokens, m.output_tokens, m.created_at, null::jsonb as other
     from agentpg_messages m join bounds b on m.session_id = b.session_id and m.seq > b.after_seq
   union all
   select 'c', l.session_id, null, l.id, null, null, null, null, null, null, null, to_jsonb(l) from latest l
   union all
   select 't', null, null, t.id, t.run_id, null, null, null, null, null, t.created_at, to_jsonb(t)
     from agentpg_tool_calls t where t.run_id = any($2::uuid[])
   order by kind, session_id, seq, run_id, created_at, id`;

type PickUpRow = MessageRow & { kind: 'm' | 'c' | 't'; other: Record<string, unknown> | null };

/**
 * Everything a pick-up reads, in ONE statement (one round trip inside the fetch transaction, on
 * the path of every start and resume): per session the latest compaction (DISTINCT ON the session,
 * over agentpg_compactions_pkey) and the messages after its point (a range of
 * agentpg_messages_pkey per session, joined with the unnest: no LATERAL, which Citus cannot push
 * down, docs/scaling.md), and the tool calls of the runs picked up before (`resumedRunIds`).
 * Message rows keep their columns; a compaction or a tool call, rare and small, comes whole as
 * jsonb in `other`. Archived messages are never read.
 */
export async function readPickUp(db: Queryable, sessionIds: string[], resumedRunIds: string[]): Promise<PickUp> {
  const live = new Map<string, LiveHistory>(sessionIds.map((id) => [id, { compaction: null, messages: [] }]));
  const toolCalls = new Map<string, ToolCallRow[]>(resumedRunIds.map((id) => [id, []]));
  if (sessionIds.length === 0 && resumedRunIds.length === 0) return { live, toolCalls };
  const { rows } = await db.query<PickUpRow>(PICK_UP_SQL, [sessionIds, resumedRunIds]);
  for (const r of rows) {
    if (r.kind === 'm') live.get(r.session_id)?.messages.push(mapMessage(r));
    else if (r.kind === 'c') {
      const c = r.other as unknown as CompactionRow & { created_at: string };
      live.get(r.session_id)!.compaction = mapCompaction({ ...c, created_at: new Date(c.created_at) });
    } else toolCalls.get(r.run_id!)?.push(mapToolCall(r.other as unknown as ToolCallDbRow));
  }
  return { live, toolCalls };
}
