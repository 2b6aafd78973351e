import type { Queryable } from '../../db/queryable.js';
import { OWNERSHIP_CHANNEL } from '../../events/channels.js';
import { AGENT_COLUMNS, type AgentRow } from './agentRow.js';

/**
 * start(): insert, or set an existing agent of the same kind active again (clearing a failure);
 * NOTIFY (sent at commit) wakes the shard's owner. `active` false creates the agent inactive, or
 * only updates the config of an existing one, whatever its state. The kind check in the conflict
 * branch makes a kind mismatch return no row (null). `config` is JSON text, or null to keep the
 * stored one. Durable: the commit of this statement.
 */
export async function startAgent(
  db: Queryable,
  id: string,
  kind: string,
  config: string | null,
  active = true,
): Promise<AgentRow | null> {
  const { rows } = await db.query<AgentRow>(
    `with up as (
       insert into agentpg_long_running_agents (id, kind, config, active)
       values ($1, $2, coalesce($3::jsonb, '{}'::jsonb), $5::boolean)
       on conflict (id) do update
         set active = agentpg_long_running_agents.active or $5::boolean,
             failed_at = case when $5::boolean then null else agentpg_long_running_agents.failed_at end,
             config = coalesce($3::jsonb, agentpg_long_running_agents.config),
             updated_at = clock_timestamp()
         where agentpg_long_running_agents.kind = excluded.kind
       returning ${AGENT_COLUMNS}
     )
     select up.* from up,
       lateral (select pg_notify($4, json_build_object('e', 'start', 'id', up.id, 'shard', up.shard)::text)) n`,
    [id, kind, config, OWNERSHIP_CHANNEL, active],
  );
  return rows[0] ?? null;
}
