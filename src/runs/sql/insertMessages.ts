import type { Queryable } from '../../db/queryable.js';

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
  /** [costs] The call's cost in USD (src/costs/callCost.ts); stored on the assistant message only. */
  costUsd?: number | null;
}

export const ZERO_USAGE: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheCreationInputTokens: 0,
  cacheReadInputTokens: 0,
};

/** The messages one run adds, in order. */
export interface RunMessages {
  sessionId: string;
  runId: string;
  messages: NewMessage[];
}

/**
 * Inserts the messages of one or more runs with ONE multi-row INSERT: each run's messages in the
 * given order, runs one after another (the identity `seq` follows VALUES order, and a session's
 * conversation is read in `seq` order). Always called inside a transaction that also moves the
 * run(s) forward. Returns the new ids in the same order, flattened.
 */
export async function insertMessages(tx: Queryable, runs: RunMessages[]): Promise<string[]> {
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const r of runs) {
    for (const m of r.messages) {
      const u = m.usage ?? ZERO_USAGE;
      const base = values.length;
      values.push(
        r.sessionId,
        r.runId,
        m.role,
        JSON.stringify(m.content),
        m.stopReason ?? null,
        u.inputTokens,
        u.outputTokens,
        u.cacheCreationInputTokens,
        u.cacheReadInputTokens,
        u.costUsd ?? null,
      );
      const params = Array.from({ length: 10 }, (_, k) => `$${base + k + 1}${k === 3 ? '::jsonb' : ''}`);
      tuples.push(`(${params.join(', ')})`);
    }
  }
  if (tuples.length === 0) return [];
  const { rows } = await tx.query<{ id: string; seq: string }>(
    `insert into agentpg_messages
       (session_id, run_id, role, content, stop_reason, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd)
     values ${tuples.join(', ')}
     returning id, seq`,
    values,
  );
  // RETURNING order of a multi-row VALUES insert is the VALUES order; sorted by seq to be explicit.
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => r.id);
}
