import type { Queryable } from '../../db/queryable.js';

export interface Spend {
  tokens: number;
  usd: number;
}

/** What a run's stored model calls used so far: tokens of every kind and USD (its assistant messages). */
export async function runSpend(db: Queryable, run: { id: string; sessionId: string }): Promise<Spend> {
  const { rows } = await db.query<{ tokens: string; usd: string }>(
    `select coalesce(sum(input_tokens + cache_creation_input_tokens + cache_read_input_tokens + output_tokens), 0) as tokens,
            coalesce(sum(cost_usd), 0) as usd
       from agentpg_messages
      where session_id = $1 and run_id = $2 and role = 'assistant'`, // (agentpg_messages_pkey)
    [run.sessionId, run.id],
  );
  return { tokens: Number(rows[0].tokens), usd: Number(rows[0].usd) };
}
