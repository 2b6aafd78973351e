import type { Queryable } from '../../db/queryable.js';
import type { Spend } from './runSpend.js';

export type BudgetPeriod = 'hour' | 'day' | 'month';

/**
 * What a tenant's model calls used in the current period (UTC hour, day or month so far): the
 * tenant's sessions by their tenant index, then each session's messages by the primary key, kept
 * when created in the period. Its cost grows with the tenant's number of sessions (not with the
 * period): see the README's "Cost and budgets".
 */
export async function tenantSpend(db: Queryable, tenantId: string, period: BudgetPeriod): Promise<Spend> {
  const { rows } = await db.query<{ tokens: string; usd: string }>(
    `select coalesce(sum(m.input_tokens + m.cache_creation_input_tokens + m.cache_read_input_tokens + m.output_tokens), 0) as tokens,
            coalesce(sum(m.cost_usd), 0) as usd
       from agentpg_sessions s
       join agentpg_messages m on m.session_id = s.id
      where s.tenant_id = $1 and m.role = 'assistant' and m.created_at >= date_trunc($2, now(), 'UTC')`,
    [tenantId, period],
  );
  return { tokens: Number(rows[0].tokens), usd: Number(rows[0].usd) };
}
