/**
 * Every NOTIFY channel agentpg uses, named once. The triggers of the migrations (drizzle/*.sql)
 * spell the trigger-sent ones in SQL; test/events/channels.test.ts checks those against the
 * trigger functions of a migrated database.
 */

/** Trigger agentpg_runs_state_notify: every insert and state change of a run. */
export const RUN_STATE_CHANNEL = 'agentpg_run_state_changed';
/** Trigger agentpg_runs_cancel_notify: cancel_requested_at set on a running run. */
export const RUN_CANCEL_CHANNEL = 'agentpg_run_cancel';
/**
 * A run's stream events (only listened to while streaming): sent by the runs module's statements,
 * and by the trigger agentpg_runs_deliver_to_parent (a child run's end, on its parent's stream).
 */
export const RUN_STREAM_CHANNEL = 'agentpg_run_stream';
/** Trigger agentpg_instances_registered_notify. */
export const INSTANCE_REGISTERED_CHANNEL = 'agentpg_instance_registered';
/** Trigger agentpg_instances_deregistered_notify. */
export const INSTANCE_DEREGISTERED_CHANNEL = 'agentpg_instance_deregistered';
/** Trigger agentpg_long_running_agents_ownership_notify: an agent's owner or epoch changed. */
export const OWNERSHIP_CHANGED_CHANNEL = 'agentpg_ownership_changed';
/**
 * Long-running agents' desired state: {"e":"start"|"stop","id","shard"} from the API,
 * {"e":"released"} on a hand-over. Sent by statements, not triggers.
 */
export const OWNERSHIP_CHANNEL = 'agentpg_long_running';

/** The channels sent by triggers of the migrations (checked against the database by a test). */
export const TRIGGER_CHANNELS = [
  RUN_STATE_CHANNEL,
  RUN_CANCEL_CHANNEL,
  RUN_STREAM_CHANNEL,
  INSTANCE_REGISTERED_CHANNEL,
  INSTANCE_DEREGISTERED_CHANNEL,
  OWNERSHIP_CHANGED_CHANNEL,
] as const;
