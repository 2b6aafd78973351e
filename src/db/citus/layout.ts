/**
 * Where each agentpg table lives on a Citus cluster (docs/scaling.md). One place, read by the Citus
 * step (distribute.ts) and by the catalog test that keeps the single-server schema ready for it
 * (test/db/citusReady.test.ts): a new table must be placed here, and a distributed one must carry
 * its key in a unique index, or that test fails.
 */

/** A table spread over the workers by the hash of `key`. */
export interface DistributedTable {
  table: string;
  key: string;
}

/**
 * The hot tables: everything a run writes. Sessions, runs, messages and compactions are co-located
 * by session (a session's rows on one shard: a run's claim, transcript read and finalize touch one
 * worker). Tool calls are distributed by their run: they carry no session_id (adding one costs 16
 * bytes per row on every deployment; docs/scaling.md says when it pays).
 */
const RUN_TABLES: readonly DistributedTable[] = [
  { table: 'agentpg_sessions', key: 'id' },
  { table: 'agentpg_runs', key: 'session_id' },
  { table: 'agentpg_messages', key: 'session_id' },
  { table: 'agentpg_compactions', key: 'session_id' },
  { table: 'agentpg_tool_calls', key: 'run_id' },
];

/** The first is the anchor the others are co-located with (distribute.ts). */
export const DISTRIBUTED_TABLES: readonly DistributedTable[] = [
  ...RUN_TABLES,
  // Legal holds (src/retention): one row per held session, beside it.
  { table: 'agentpg_session_holds', key: 'session_id' },
  // Retention's archive (archive mode): each hot table's retired rows, all by session (an archived
  // tool call carries its run's session_id).
  ...RUN_TABLES.map(({ table, key }) => ({
    table: table.replace('agentpg_', 'agentpg_archive_'),
    key: key === 'id' ? 'id' : 'session_id',
  })),
  // Batch mode's requests (src/batch), one or more per model call of a run: by run, like tool calls.
  { table: 'agentpg_batch_requests', key: 'run_id' },
];

/**
 * Stay plain tables on the coordinator: small, written per instance or per cleanup pass, and what
 * session advisory locks, LISTEN/NOTIFY and pg-boss's SKIP LOCKED fetch need to be on one server.
 * (pg-boss's own schema stays there too; it is not listed: agentpg does not own it.)
 */
export const COORDINATOR_TABLES: readonly string[] = [
  'agentpg_migrations',
  'agentpg_instances',
  'agentpg_instance_agents',
  'agentpg_instance_tools',
  'agentpg_agents',
  'agentpg_tools',
  'agentpg_cleanup_passes',
  'agentpg_long_running_shards',
  'agentpg_long_running_agents',
  'agentpg_long_running_ownership_log',
  'agentpg_api_keys',
  // Rate-limit buckets (src/ratelimit): one row per model and key, locked by every model call of the
  // cluster: small and hot, next to the queue.
  'agentpg_rate_limits',
  'agentpg_rate_limit_tenants',
  // One row per retention pass, and the batch submissions (one per Message Batch) the poller owns.
  'agentpg_retention_passes',
  'agentpg_batch_submissions',
];

/**
 * Unique indexes of distributed tables that do not include the key. Citus refuses those, so the
 * Citus step replaces each by the key-prefixed one below. On one server they stay as they are:
 * widening them would cost index bytes (WAL) per run for nothing. Listing one here is a decision;
 * the catalog test fails on any other unique index without the key.
 */
export const REKEYED_ON_CITUS: Readonly<Record<string, { table: string; definition: string }>> = {
  agentpg_runs_pkey: { table: 'agentpg_runs', definition: 'primary key (session_id, id)' },
  agentpg_tool_calls_pkey: { table: 'agentpg_tool_calls', definition: 'primary key (run_id, id)' },
  // Batch mode does not run on Citus yet (docs/scaling.md): a custom id is unique per run there.
  agentpg_batch_requests_pkey: { table: 'agentpg_batch_requests', definition: 'primary key (run_id, id)' },
  agentpg_batch_requests_custom_id_idx: {
    table: 'agentpg_batch_requests',
    definition: 'unique index agentpg_batch_requests_custom_id_idx on agentpg_batch_requests (run_id, custom_id)',
  },
  // Exactly one child run per tool call: per child session on Citus (a child session is made per
  // call, so the same in practice, but insertChildRuns' ON CONFLICT names the old index; agents as
  // tools do not run on Citus yet, docs/scaling.md).
  agentpg_runs_parent_tool_call_idx: {
    table: 'agentpg_runs',
    definition:
      'unique index agentpg_runs_parent_tool_call_idx on agentpg_runs (session_id, parent_tool_call_id) where parent_tool_call_id is not null',
  },
};

/**
 * Row triggers of distributed tables that NOTIFY. On Citus they fire on a worker, inside a prepared
 * (two-phase) transaction, where PostgreSQL refuses NOTIFY, and nobody LISTENs there anyway: the
 * Citus step drops them. The run's end is still notified by the coordinator (finalizeRuns sends the
 * same payload); the other changes are not (docs/scaling.md).
 */
export const NOTIFY_TRIGGERS_DROPPED_ON_CITUS: readonly { table: string; trigger: string }[] = [
  { table: 'agentpg_runs', trigger: 'agentpg_runs_state_notify' },
  { table: 'agentpg_runs', trigger: 'agentpg_runs_cancel_notify' },
];

/**
 * Foreign keys Citus would reject (across shard keys, or from a distributed table into a coordinator
 * table) that the Citus step drops. Only batch mode's, which does not run on Citus yet: its requests
 * then outlive a deleted run until the poller ends them (docs/scaling.md).
 */
export const FOREIGN_KEYS_DROPPED_ON_CITUS: readonly { table: string; constraint: string }[] = [
  { table: 'agentpg_batch_requests', constraint: 'agentpg_batch_requests_run_id_agentpg_runs_id_fk' },
  {
    table: 'agentpg_batch_requests',
    constraint: 'agentpg_batch_requests_submission_id_agentpg_batch_submissions_',
  },
];
