/**
 * Takes ownership of the active agents of shards this session holds: epoch + 1 (the fence: every
 * write of a previous owner, conditional on its own epoch, now fails), owner, owned_since. Runs on
 * the LOCK SESSION for the same reason as ACQUIRE_SHARDS_SQL. SKIP LOCKED: a row locked by a
 * previous owner's fenced transaction is skipped (taken at the next reconcile) instead of blocking
 * the lock session's heartbeats. $4 restricts it to some agent ids (null: all of the shards).
 * Durable: the commit of this statement.
 */
export const CLAIM_AGENTS_SQL = `
with t as (
  select id from agentpg_long_running_agents
  where shard = any($2::int[]) and active and kind = any($3::text[])
    and ($4::text[] is null or id = any($4::text[]))
  for update skip locked
)
update agentpg_long_running_agents a
set epoch = a.epoch + 1, owner_instance_id = $1, owned_since = clock_timestamp(), updated_at = clock_timestamp()
from t
where a.id = t.id
returning a.id, a.kind, a.shard, a.epoch, a.config, a.checkpoint, a.restart_count
`;

/** Active agents of these shards whose kind this instance cannot run (restore failures). */
export const UNRUNNABLE_AGENTS_SQL = `
select id, kind from agentpg_long_running_agents
where shard = any($1::int[]) and active and kind <> all($2::text[])
limit 100
`;

/** How many active agents are in shards other instances hold (the "skipped" count of a restore). */
export const COUNT_ACTIVE_SQL = `
select count(*) filter (where shard = any($1::int[]))::int as mine, count(*)::int as total
from agentpg_long_running_agents where active
`;
