import type { Queryable } from '../../db/queryable.js';
import type { Compaction } from '../compactionTypes.js';
import type { StoredMessage } from '../types.js';
import { mapCompaction, type CompactionRow } from './compactionRows.js';
import { mapMessage, MESSAGE_COLUMNS, type MessageRow } from './sessions.js';

export interface LiveHistory {
  /** The session's latest compaction, or null. */
  compaction: Compaction | null;
  /** The messages after it (seq > compaction.throughSeq), in order. */
  messages: StoredMessage[];
}

/**
 * Each session's latest compaction: DISTINCT ON the session, newest number first, over
 * agentpg_compactions_pkey (a session keeps few compactions). Not a LATERAL ... LIMIT 1 per session:
 * Citus cannot push that down (docs/scaling.md), and DISTINCT ON the distribution key it can.
 */
export const LATEST_COMPACTIONS_SQL = `select distinct on (c.session_id) c.* from agentpg_compactions c
  where c.session_id = any($1::uuid[])
  order by c.session_id, c.number desc`;

/**
 * The messages after each session's compaction point: a range of agentpg_messages_pkey
 * (session_id, seq > after_seq) per session, so the rows read are the live ones only. A join with the
 * unnest, not a LATERAL subquery: Citus plans it (docs/scaling.md), PostgreSQL the same way.
 */
const QUALIFIED_MESSAGE_COLUMNS = MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');

export const LIVE_MESSAGES_SQL = `select ${QUALIFIED_MESSAGE_COLUMNS} from agentpg_messages m
  join unnest($1::uuid[], $2::bigint[]) s(session_id, after_seq) on m.session_id = s.session_id and m.seq > s.after_seq
  order by m.session_id, m.seq`;

/**
 * What a run's pick-up reads (worker.ts, inside the fetch transaction): per session, the latest
 * compaction and the messages since. Two statements, each bounded by what the model will see, not
 * by the session's age: archived messages are never read.
 */
export async function readLiveHistory(db: Queryable, sessionIds: string[]): Promise<Map<string, LiveHistory>> {
  const out = new Map<string, LiveHistory>(sessionIds.map((id) => [id, { compaction: null, messages: [] }]));
  if (sessionIds.length === 0) return out;
  const { rows: latest } = await db.query<CompactionRow>(LATEST_COMPACTIONS_SQL, [sessionIds]);
  for (const r of latest) out.get(r.session_id)!.compaction = mapCompaction(r);
  const after = sessionIds.map((id) => out.get(id)!.compaction?.throughSeq ?? 0);
  const { rows } = await db.query<MessageRow>(LIVE_MESSAGES_SQL, [sessionIds, after]);
  for (const r of rows) out.get(r.session_id)?.messages.push(mapMessage(r));
  return out;
}
