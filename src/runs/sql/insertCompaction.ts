import type { Queryable } from '../../db/queryable.js';
import type { Compaction } from '../compactionTypes.js';
import { mapCompaction, type CompactionRow } from './compactionRows.js';

export type NewCompaction = Omit<Compaction, 'id' | 'createdAt'>;

/**
 * Stores a compaction, fenced twice, in ONE statement: the run must still be `running` under the
 * compacting execution's claim (`attempts`, row locked FOR SHARE until COMMIT so a re-claim cannot
 * slip in between), and `number` must be the next one of the session (the primary key: a compaction
 * built on an older one is refused, never stored twice). Returns null when either fence failed.
 */
export async function insertCompaction(
  db: Queryable,
  c: NewCompaction,
  fence: { runId: string; attempt: number },
): Promise<Compaction | null> {
  const { rows } = await db.query<CompactionRow>(
    `with run as (
       select 1 from agentpg_runs where id = $3 and state = 'running' and attempts = $14 for share
     )
     insert into agentpg_compactions (session_id, number, run_id, through_seq, replacement, strategy, model,
         messages_archived, tokens_before, tokens_after, input_tokens, output_tokens, duration_ms)
     select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 from run
     on conflict (session_id, number) do nothing
     returning *`,
    [
      c.sessionId,
      c.number,
      fence.runId,
      c.throughSeq,
      JSON.stringify(c.replacement),
      c.strategy,
      c.model,
      c.messagesArchived,
      c.tokensBefore,
      c.tokensAfter,
      c.inputTokens,
      c.outputTokens,
      c.durationMs,
      fence.attempt,
    ],
  );
  return rows[0] ? mapCompaction(rows[0]) : null;
}
