import type { Queryable } from '../../db/queryable.js';

/**
 * Takes this session's liveness lock: the advisory lock (namespace, own backend pid). Its key is
 * the holder's pid, so no two live sessions ever want the same key (the call cannot block on
 * another holder) and a reader of pg_locks can tell whose it is. Held from this statement until
 * the session ends: the server frees it the moment the backend exits (a killed process, a session
 * ended by its idle_session_timeout). Returns the pid.
 */
export async function takeLivenessLock(db: Queryable, namespace: number): Promise<number> {
  const { rows } = await db.query<{ pid: number }>(
    `select pg_backend_pid() as pid, pg_advisory_lock($1::int, pg_backend_pid()) is not null as locked`,
    [namespace],
  );
  return rows[0].pid;
}
