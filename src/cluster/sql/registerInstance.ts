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
  await replaceLinks(db, 'agentpg_instance_agents', 'agent_name', instance.id, agentNames);
  await replaceLinks(db, 'agentpg_instance_tools', 'tool_name', instance.id, toolNames);
}

/** The instance's links in `table` become exactly `names`: the others deleted, the missing inserted (in order). */
async function replaceLinks(
  db: Queryable,
  table: string,
  column: string,
  instanceId: string,
  names: string[],
): Promise<void> {
  await db.query(`delete from ${table} where instance_id = $1 and ${column} <> all($2::text[])`, [instanceId, names]);
  await db.query(
    `insert into ${table} (instance_id, ${column})
     select $1, unnest($2::text[]) on conflict do nothing`,
    [instanceId, [...names].sort()],
  );
}
