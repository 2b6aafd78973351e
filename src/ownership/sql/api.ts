const COLUMNS = `id, kind, active, shard, owner_instance_id, epoch, checkpoint, config, restart_count, last_error,
  last_activity_at, owned_since, created_at, updated_at`;

/**
 * start(): insert, or set an existing agent of the same kind active again; NOTIFY (sent at commit)
 * wakes the shard's owner. The kind check in the conflict branch makes a kind mismatch return no
 * row. Durable: the commit of this statement.
 */
export const START_AGENT_SQL = `
with up as (
  insert into agentpg_long_running_agents (id, kind, config, active)
  values ($1, $2, coalesce($3::jsonb, '{}'::jsonb), true)
  on conflict (id) do update
    set active = true, config = coalesce($3::jsonb, agentpg_long_running_agents.config), updated_at = clock_timestamp()
    where agentpg_long_running_agents.kind = excluded.kind
  returning ${COLUMNS}
)
select up.* from up,
  lateral (select pg_notify('agentpg_long_running', json_build_object('e', 'start', 'id', up.id, 'shard', up.shard)::text)) n
`;

/** stop(): desired state inactive; the owner aborts the handler, waits for it, releases the agent. */
export const STOP_AGENT_SQL = `
with up as (
  update agentpg_long_running_agents set active = false, updated_at = clock_timestamp()
  where id = $1
  returning ${COLUMNS}
)
select up.* from up,
  lateral (select pg_notify('agentpg_long_running', json_build_object('e', 'stop', 'id', up.id, 'shard', up.shard)::text)) n
`;

export const GET_AGENT_SQL = `select ${COLUMNS} from agentpg_long_running_agents where id = $1`;

export const LIST_AGENTS_SQL = `
select ${COLUMNS} from agentpg_long_running_agents
where ($1::text is null or kind = $1) and ($2::boolean is null or active = $2)
  and ($3::text is null or owner_instance_id = $3)
order by created_at, id
limit $4
`;

export const KIND_OF_SQL = `select kind from agentpg_long_running_agents where id = $1`;
