import type { Queryable } from '../../db/queryable.js';

/**
 * Deletes instances whose last heartbeat is older than the TTL (never the caller itself: it is
 * evidently alive). Links cascade; each deletion sends agentpg_instance_deregistered. One
 * autocommit statement, so a pass that dies after it has either deleted them or not; the WHERE
 * re-checks the heartbeat on the locked row, so an instance that heartbeated meanwhile survives.
 */
export async function deleteStaleInstances(db: Queryable, ttlMs: number, exceptInstanceId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `delete from agentpg_instances
      where last_heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
        and id <> $2
      returning id`,
    [ttlMs, exceptInstanceId],
  );
  return rows.map((r) => r.id);
}
