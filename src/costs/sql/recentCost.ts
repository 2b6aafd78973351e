import type { Queryable } from '../../db/queryable.js';

/**
 * Model calls and their USD cost of the runs finalized in the last hour (whole cluster), for the
 * `agentpg_cost_usd_last_hour` metric: the runs through agentpg_runs_finished_idx, their messages by
 * the primary key, so a scrape never scans every message ever stored.
 */
export async function recentCost(db: Queryable): Promise<{ usd: number; modelCalls: number }> {
  const { rows } = await db.query<{ usd: string; calls: number }>(
    `select coalesce(sum(m.cost_usd), 0) as usd, count(*)::int as calls
       from agentpg_runs r
       join agentpg_messages m on m.session_id = r.session_id and m.run_id = r.id
      where r.finalized_at > now() - interval '1 hour' and m.role = 'assistant'`,
  );
  return { usd: Number(rows[0].usd), modelCalls: rows[0].calls };
}
