/**
 * A row of agentpg_long_running_agents as the API statements return it (snake_case, as pg hands
 * it over; the drizzle model in src/db/schema/ownership.ts names the same columns). `epoch` is a
 * bigint, which pg returns as a string. A type, not an interface: the CLI prints it as a record.
 */
export type AgentRow = {
  id: string;
  kind: string;
  active: boolean;
  shard: number;
  owner_instance_id: string | null;
  epoch: string;
  checkpoint: unknown;
  config: Record<string, unknown> | null;
  restart_count: number;
  last_error: string | null;
  /** Set when the owner gave up on a handler that kept throwing; cleared by start(). */
  failed_at: Date | null;
  last_activity_at: Date | null;
  owned_since: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** The columns of AgentRow, for the statements' select lists. */
export const AGENT_COLUMNS = `id, kind, active, shard, owner_instance_id, epoch, checkpoint, config, restart_count,
  last_error, failed_at, last_activity_at, owned_since, created_at, updated_at`;
