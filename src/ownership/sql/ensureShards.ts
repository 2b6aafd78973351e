/** Creates shards 0..$1-1 that do not exist yet (shards are only ever added, never removed). */
export const ENSURE_SHARDS_SQL = `
insert into agentpg_long_running_shards (id)
select g from generate_series(0, $1::int - 1) g
on conflict (id) do nothing
`;

export const SHARD_COUNT_SQL = `select coalesce(max(id) + 1, 0)::int as n from agentpg_long_running_shards`;
