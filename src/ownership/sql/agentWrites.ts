/**
 * Fenced writes of an owner, on the pool. Each is one UPDATE conditional on the epoch: 0 rows means
 * another acquisition happened (StaleOwnerError). An UPDATE waits for a concurrent acquisition's
 * row lock and re-checks the epoch after it, so an owner's write lands either before the next
 * owner's acquisition or not at all. Durable: the commit of each statement.
 */
export const SAVE_CHECKPOINT_SQL = `
update agentpg_long_running_agents
set checkpoint = $3::jsonb, last_activity_at = clock_timestamp(), updated_at = clock_timestamp()
where id = $1 and epoch = $2
returning 1
`;

/** First statement of ctx.fenced(): locks the row until the transaction ends. */
export const FENCE_ROW_SQL = `
update agentpg_long_running_agents
set last_activity_at = clock_timestamp()
where id = $1 and epoch = $2
returning 1
`;

/** A handler threw: count the restart and keep the (redacted) message. */
export const RECORD_RESTART_SQL = `
update agentpg_long_running_agents
set restart_count = restart_count + 1, last_error = $3, updated_at = clock_timestamp()
where id = $1 and epoch = $2
returning restart_count
`;

/** The handler returned on its own (finished), or it was stopped: no owner any more. $3: deactivate. */
export const RELEASE_AGENT_SQL = `
update agentpg_long_running_agents
set owner_instance_id = null, owned_since = null, updated_at = clock_timestamp(),
    active = case when $3::boolean then false else active end
where id = $1 and epoch = $2
returning 1
`;

/** The active agents of shards this instance holds, and those it still owns (reconcile). */
export const DESIRED_AGENTS_SQL = `
select id, kind, shard, active, epoch, coalesce(owner_instance_id = $2, false) as mine
from agentpg_long_running_agents
where shard = any($1::int[]) and (active or owner_instance_id = $2)
  and ($3::text[] is null or id = any($3::text[]))
`;

/** Log rows released longer ago than the retention. */
export const PRUNE_LOG_SQL = `
delete from agentpg_long_running_ownership_log
where released_at < clock_timestamp() - ($1::bigint * interval '1 millisecond')
`;

/**
 * The owner mirror of agents this instance runs was cleared by someone else (cleanup found no
 * instance row for us): set it again, each row fenced by its own epoch. Batched ($1 ids, $2 their
 * epochs): after such a cleanup it concerns every agent here, 25,000 round trips one by one.
 */
export const RESTORE_OWNER_SQL = `
update agentpg_long_running_agents a
set owner_instance_id = $3, owned_since = coalesce(a.owned_since, clock_timestamp())
from unnest($1::text[], $2::bigint[]) as u(id, epoch)
where a.id = u.id and a.epoch = u.epoch and a.active
`;
