import type { Queryable } from '../../db/queryable.js';

export interface LostInstance {
  id: string;
  livenessPid: number;
}

/**
 * Instances whose liveness lock (takeLivenessLock) is no longer held by the session that took it:
 * that backend has ended, so the instance is dead or cut off beyond its server lease. A server-side
 * fact, not a timeout. Instances that registered without a liveness session (older versions) have
 * no pid and are left to the heartbeat TTL of the cleanup pass. pg_locks is read once per call.
 */
export async function findInstancesWithoutLiveness(
  db: Queryable,
  namespace: number,
  exceptInstanceId: string,
): Promise<LostInstance[]> {
  const { rows } = await db.query<{ id: string; liveness_pid: number }>(
    `with held as (
       select l.objid::int as pid
         from pg_locks l
        where l.locktype = 'advisory' and l.classid = $1::int and l.objsubid = 2 and l.granted
          and l.pid = l.objid::int
          and l.database = (select oid from pg_database where datname = current_database())
     )
     select i.id, i.liveness_pid
       from agentpg_instances i
      where i.liveness_pid is not null and i.id <> $2
        and not exists (select 1 from held h where h.pid = i.liveness_pid)`,
    [namespace, exceptInstanceId],
  );
  return rows.map((r) => ({ id: r.id, livenessPid: r.liveness_pid }));
}
