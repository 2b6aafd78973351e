import type { Queryable } from '../../db/queryable.js';

export interface InstanceRow {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  metadata: Record<string, unknown>;
  /** pid of the liveness session holding this instance's liveness lock (src/cluster/liveness.ts). */
  livenessPid: number | null;
}

/**
 * Inserts (or refreshes) this instance's row and links it to the agents and tools it can run.
 * Run inside the registration transaction: its COMMIT makes the registration durable, all or
 * nothing. The links are replaced, so a re-registration with a different registry is exact.
 * Inserting a new row fires the agentpg_instance_registered NOTIFY (migration cluster_triggers).
 */
export async function registerInstance(
  db: Queryable,
  instance: InstanceRow,
  agentNames: string[],
  toolNames: string[],
): Promise<void> {
  await db.query(
    `insert into agentpg_instances (id, hostname, pid, version, metadata, liveness_pid)
     values ($1, $2, $3, $4, $5::jsonb, $6)
     on conflict (id) do update
       set hostname = excluded.hostname, pid = excluded.pid, version = excluded.version,
           metadata = excluded.metadata, liveness_pid = excluded.liveness_pid, last_heartbeat_at = now()`,
    [
      instance.id,
      instance.hostname,
      instance.pid,
      instance.version,
      JSON.stringify(instance.metadata),
      instance.livenessPid,
    ],
  );
  await db.query(`delete from agentpg_instance_agents where instance_id = $1 and agent_name <> all($2::text[])`, [
    instance.id,
    agentNames,
  ]);
  await db.query(
    `insert into agentpg_instance_agents (instance_id, agent_name)
     select $1, unnest($2::text[]) on conflict do nothing`,
    [instance.id, [...agentNames].sort()],
  );
  await db.query(`delete from agentpg_instance_tools where instance_id = $1 and tool_name <> all($2::text[])`, [
    instance.id,
    toolNames,
  ]);
  await db.query(
    `insert into agentpg_instance_tools (instance_id, tool_name)
     select $1, unnest($2::text[]) on conflict do nothing`,
    [instance.id, [...toolNames].sort()],
  );
}
