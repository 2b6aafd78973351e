import type { Queryable } from '../../db/queryable.js';
import type { LostInstance } from './findInstancesWithoutLiveness.js';

/**
 * Deletes instances found without their liveness lock, fenced on the pid that was seen: an
 * instance that re-registered meanwhile with a new liveness session is left alone. Links cascade;
 * each deletion sends agentpg_instance_deregistered. One autocommit statement; several survivors
 * racing delete each row once (the others match nothing). Returns the ids deleted here.
 */
export async function deleteLostInstances(db: Queryable, lost: LostInstance[]): Promise<string[]> {
  if (lost.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `delete from agentpg_instances i
      using unnest($1::text[], $2::int[]) as l(id, pid)
      where i.id = l.id and i.liveness_pid = l.pid
      returning i.id`,
    [lost.map((l) => l.id), lost.map((l) => l.livenessPid)],
  );
  return rows.map((r) => r.id);
}
