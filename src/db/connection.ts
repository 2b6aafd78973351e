import pg from 'pg';
import { DatabaseUnavailableError, redactSecrets } from '../errors.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { sleep } from '../lifecycle/sleep.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/**
 * THE CONNECTION BUDGET of one instance (README "Connections"):
 *   the statement pool (this file: agentpg's statements AND pg-boss's, which runs on it through
 *   `db`, src/client.ts)                                              <= poolSize (default <= 6)
 *   the event listener's LISTEN connection (src/events/listener.ts)                          1
 *   ONE lock session holding the liveness lock (src/cluster/liveness.ts) and, on instances with
 *   long-running kinds, the shard locks (src/ownership/manager.ts adopts it)                  1
 *   (a further lock session per maxLocksPerSession shards beyond the first 1024: not by default)
 * so a loaded instance holds <= 8 and an idle one 3 or 4: pool connections idle for
 * POOL_IDLE_TIMEOUT_MS are closed, and the background statements (failover, heartbeat, pg-boss's
 * supervise) share one lane of the pool (poolLane.ts) and keep one warm.
 */
/** Upper bound of the default poolSize. */
export const POOL_SIZE_DEFAULT_MAX = 6;
/**
 * A pool connection idle this long is closed: pg's own default, kept. 5 s made
 * test/cluster/runFailover.test.ts's SIGSTOP case flaky (2 failures in 5 runs, none in 6 at 10 s:
 * the frozen worker's late writes were never made, so the fence refused none). Likely cause: a
 * process frozen past the idle timeout finds its pool's connections closed at SIGCONT, and its late
 * fenced writes wait for new ones while its lease timer gives the runs up first.
 */
export const POOL_IDLE_TIMEOUT_MS = 10_000;

/**
 * The default poolSize: one connection per run step that can be in flight at once, plus one for
 * the background statements, capped at POOL_SIZE_DEFAULT_MAX. Steps are short and group-commit
 * (enqueues, claims, finalizes of many runs share one transaction), so a worker running 100 runs
 * needs a handful of connections, not one per run.
 */
export function defaultPoolSize(runConcurrency: number): number {
  return Math.max(2, Math.min(POOL_SIZE_DEFAULT_MAX, runConcurrency + 2));
}

/**
 * agentpg's one statement pool, shared by its own queries and pg-boss's. Statement-level work
 * only: anything that needs a session (LISTEN, advisory locks) uses a dedicated pg.Client
 * instead, because a pooled connection goes back to the pool and is reaped after idleTimeoutMillis.
 */
export function createPool(
  connectionString: string,
  options: { max?: number; applicationName?: string } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? POOL_SIZE_DEFAULT_MAX,
    idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
    application_name: options.applicationName ?? 'agentpg',
  });
  // An idle client that errors (server restart, terminated backend) must not crash the process;
  // the pool discards it and the next query opens a new connection.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: a FATAL that arrives between two statements (the
  // server ended an idle transaction, a terminated backend) would be an unhandled 'error' event
  // that kills the process. The next query on that client fails instead, and pg-pool discards a
  // client that is no longer queryable when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Runs `fn` inside a transaction on one pooled client; commits, or rolls back on throw. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Connects with bounded retries and exponential backoff, for start-up when the database may still
 * be coming up. The final error names the host but never the password.
 */
export async function waitForDatabase(
  connectionString: string,
  options: { attempts?: number; initialDelayMs?: number; maxDelayMs?: number } = {},
): Promise<void> {
  const attempts = options.attempts ?? 5;
  const backoff = { baseMs: options.initialDelayMs ?? 200, maxMs: options.maxDelayMs ?? 5000 };
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (err) {
      lastError = err;
      await client.end().catch(() => {});
      if (attempt < attempts) await sleep(backoffDelay(attempt, backoff));
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new DatabaseUnavailableError(
    `database unreachable at ${describeConnection(connectionString)} after ${attempts} attempts: ${redactSecrets(reason)}`,
    { cause: lastError },
  );
}

/** host:port/database of a connection string, for messages and logs (no user, no password). */
export function describeConnection(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return '(unparseable connection string)';
  }
}
