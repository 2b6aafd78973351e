import type { Queryable } from '../db.js';

export interface NewMessage {
  role: 'user' | 'assistant';
  content: unknown[];
  stopReason?: string | null;
  usage?: TokenUsage;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

/**
 * Inserts messages of a run in the given order with ONE multi-row INSERT (the identity `seq`
 * follows VALUES order). Always called inside a transaction that also moves the run forward.
 * Returns the new ids in order.
 */
export async function insertMessages(tx: Queryable, sessionId: string, runId: string, messages: NewMessage[]): Promise<string[]> {
  if (messages.length === 0) return [];
  const values: unknown[] = [sessionId, runId];
  const tuples: string[] = [];
  for (const m of messages) {
    const u = m.usage ?? ZERO_USAGE;
    const base = values.length;
    values.push(m.role, JSON.stringify(m.content), m.stopReason ?? null, u.inputTokens, u.outputTokens, u.cacheCreationInputTokens, u.cacheReadInputTokens);
    tuples.push(`($1, $2, $${base + 1}, $${base + 2}::jsonb, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7})`);
  }
  const { rows } = await tx.query<{ id: string }>(
    `insert into agentpg_messages
       (session_id, run_id, role, content, stop_reason, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens)
     values ${tuples.join(', ')}
     returning id, seq`,
    values,
  );
  // RETURNING order of a multi-row VALUES insert is the VALUES order; sorted by seq to be explicit.
  return rows.sort((a: any, b: any) => Number(a.seq) - Number(b.seq)).map((r) => r.id);
}
