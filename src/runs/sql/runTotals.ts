import type { Queryable } from '../../db/queryable.js';

import type { RunTotals } from '../types.js';

/** Through the SQL function agentpg_run_totals (migration agents_as_tools). Null for an unknown run. */
export async function runTotals(db: Queryable, runId: string): Promise<RunTotals | null> {
  const { rows } = await db.query<Record<string, string>>(`select * from agentpg_run_totals($1)`, [runId]);
  const r = rows[0];
  if (!r || Number(r.runs) === 0) return null;
  return {
    runs: Number(r.runs),
    inputTokens: Number(r.total_input_tokens),
    outputTokens: Number(r.total_output_tokens),
    cacheCreationInputTokens: Number(r.total_cache_creation_input_tokens),
    cacheReadInputTokens: Number(r.total_cache_read_input_tokens),
  };
}
