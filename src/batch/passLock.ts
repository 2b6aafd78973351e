import pg from 'pg';

/** The session advisory lock key of the poll pass (one per database). */
const PASS_LOCK_SQL = `hashtextextended('agentpg_batch_poll_pass', 0)`;

/**
 * The poll pass's mutual exclusion: a session-level advisory lock on a DEDICATED connection (a
 * pg.Client, never a pool client, see src/ownership/lockSession.ts), held for the whole pass. Two
 * things follow: passes never overlap (pg-boss's throttle admits one job per slot, but a slow pass
 * can outlive its slot), and a pass that holds the lock knows every `creating` submission it finds
 * was left by a pass that died (its session, and so its lock, is gone): reconcile.ts may resolve
 * it. Null when another pass holds the lock.
 */
export async function acquirePassLock(databaseUrl: string): Promise<{ release(): Promise<void> } | null> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'agentpg:batch-pass' });
  client.on('error', () => {}); // a lost session ends the pass's next statement with an error
  await client.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(${PASS_LOCK_SQL}) as ok`);
    if (!rows[0]?.ok) {
      await client.end();
      return null;
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  // Ending the session releases the lock; no unlock statement that could fail half-way.
  return { release: () => client.end().catch(() => {}) };
}
