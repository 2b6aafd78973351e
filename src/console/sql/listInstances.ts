import type { Queryable } from '../../db/queryable.js';

export interface InstanceSummary {
  id: string;
  hostname: string | null;
  pid: number | null;
  version: string | null;
  createdAt: Date;
  lastHeartbeatAt: Date;
  /** Seconds since the last heartbeat, in database time (the browser's clock may differ). */
  heartbeatAgeSeconds: number;
  runningRuns: number;
}

/** The live instances (cluster-wide: admin and operator keys only) with their heartbeat age. */
export async function listInstances(db: Queryable): Promise<InstanceSummary[]> {
  const { rows } = await db.query<{
    id: string;
    hostname: string | null;
    pid: number | null;
    version: string | null;
    created_at: Date;
    last_heartbeat_at: Date;
    heartbeat_age_s: number;
    running_runs: number;
  }>(
    `select id, hostname, pid, version, created_at, last_heartbeat_at,
            extract(epoch from now() - last_heartbeat_at)::float8 as heartbeat_age_s,
            (select count(*)::int from agentpg_runs r
              where r.finalized_at is null and r.state = 'running' and r.instance_id = i.id) as running_runs
       from agentpg_instances i order by created_at, id limit 500`,
  );
  return rows.map((r) => ({
    id: r.id,
    hostname: r.hostname,
    pid: r.pid,
    version: r.version,
    createdAt: r.created_at,
    lastHeartbeatAt: r.last_heartbeat_at,
    heartbeatAgeSeconds: r.heartbeat_age_s,
    runningRuns: r.running_runs,
  }));
}
