import type { DbRow } from '../../db/rows.js';
import type { compactions } from '../../db/schema/index.js';
import type { Compaction } from '../compactionTypes.js';

export type CompactionRow = DbRow<typeof compactions>;

export function mapCompaction(r: CompactionRow): Compaction {
  return {
    id: r.id,
    sessionId: r.session_id,
    number: r.number,
    runId: r.run_id,
    throughSeq: Number(r.through_seq),
    replacement: r.replacement,
    strategy: r.strategy,
    model: r.model,
    messagesArchived: r.messages_archived,
    tokensBefore: r.tokens_before,
    tokensAfter: r.tokens_after,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    durationMs: r.duration_ms,
    createdAt: r.created_at,
  };
}
