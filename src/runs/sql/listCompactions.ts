import type { Queryable } from '../../db/queryable.js';
import type { Compaction } from '../compactionTypes.js';
import { mapCompaction, type CompactionRow } from './compactionRows.js';

/** A session's compactions, oldest first (agentpg_compactions_pkey). */
export async function listCompactions(db: Queryable, sessionId: string): Promise<Compaction[]> {
  const { rows } = await db.query<CompactionRow>(
    `select * from agentpg_compactions where session_id = $1 order by number`,
    [sessionId],
  );
  return rows.map(mapCompaction);
}
