import type { Queryable } from '../../db/queryable.js';
import { mapMessage, MESSAGE_COLUMNS, type MessageRow } from './sessions.js';
import type { StoredMessage } from '../types.js';

/**
 * Up to `limit` messages of a session with seq > `after`, in order, and one more row to tell
 * whether another page follows. Served by agentpg_messages_pkey (session_id, seq): a page costs
 * its own rows, however long the session. Without `archived`, the messages a compaction archived
 * (seq <= the latest compaction's through_seq) are skipped.
 */
export async function pageSessionMessages(
  db: Queryable,
  sessionId: string,
  after: number,
  limit: number,
  archived: boolean,
): Promise<{ messages: StoredMessage[]; more: boolean }> {
  const from = archived
    ? '$2::bigint'
    : `greatest($2::bigint, coalesce((select c.through_seq from agentpg_compactions c
         where c.session_id = $1 order by c.number desc limit 1), 0))`;
  const { rows } = await db.query<MessageRow>(
    `select ${MESSAGE_COLUMNS} from agentpg_messages
      where session_id = $1 and seq > ${from} order by seq limit $3`,
    [sessionId, after, limit + 1],
  );
  return { messages: rows.slice(0, limit).map(mapMessage), more: rows.length > limit };
}
