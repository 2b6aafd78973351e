import type { Queryable } from '../../db/queryable.js';
import { OWNERSHIP_CHANNEL } from '../../events/channels.js';
import { AGENT_COLUMNS, type AgentRow } from './agentRow.js';

/**
 * stop(): desired state inactive; the owner, woken by the NOTIFY, aborts the handler, waits for
 * it, releases the agent. Null when there is no such agent.
 */
export async function stopAgent(db: Queryable, id: string): Promise<AgentRow | null> {
  const { rows } = await db.query<AgentRow>(
    `with up as (
       update agentpg_long_running_agents set active = false, updated_at = clock_timestamp()
       where id = $1
       returning ${AGENT_COLUMNS}
     )
     select up.* from up,
       lateral (select pg_notify($2, json_build_object('e', 'stop', 'id', up.id, 'shard', up.shard)::text)) n`,
    [id, OWNERSHIP_CHANNEL],
  );
  return rows[0] ?? null;
}
