import pg from 'pg';
import { BackgroundService } from '../lifecycle/backgroundService.js';
import type { ResolvedOwnershipOptions } from './types.js';

export type LossReason =
  'lease_expired' | 'connection_error' | 'connection_ended' | 'statement_failed' | 'lock_mismatch';

/**
 * One DEDICATED connection (a pg.Client, never a pg.Pool client: a pool reaps idle clients after
 * 10 s and the lock vanishes silently, or another caller borrows the session and "owns" the lock
 * too) that holds session-level advisory locks on shards.
 *
 * Leases (see options.ts for the inequality):
 * - client lease: every successful statement proves the session (and its locks) alive at the
 *   moment it was handed to the driver; `clientLeaseMs` after the last proof, the lease timer
 *   declares the session lost and the manager aborts every handler of its shards. A heartbeat
 *   (`select 1`) runs every `heartbeatIntervalMs` to keep proving.
 * - server lease: `idle_session_timeout` set on this session only (connection `options`), so the
 *   server ends a session that went silent — a cut network, a frozen proxy, a hung process — after
 *   `serverLeaseMs` whatever TCP does, and frees its locks. tcp_user_timeout and keepalives are the
 *   second line against real packet loss; both are set so they never end the session sooner than
 *   the server lease would.
 * - error/end events of the connection (pg_terminate_backend: 57P01 within ~55 ms) are a loss too.
 *
 * Statements are serialized here (one in flight), so the heartbeat never overlaps a claim.
 */
export class LockSession {
  private static seq = 0;
  readonly seq = ++LockSession.seq;
  /** Shards this session holds a lock on (exactly once each: locks stack, never lock twice). */
  readonly held = new Set<number>();
  /** Shards being handed over: still locked, their handlers are stopping. */
  readonly releasing = new Set<number>();
  pid = 0;
  lost = false;
  closing = false;
  private chain: Promise<unknown> = Promise.resolve();
  private lastProvenAt = 0;
  private leaseTimer: NodeJS.Timeout | null = null;
  /**
   * `select 1` every ownership heartbeatIntervalMs, to keep proving the lease. A failed heartbeat
   * is not reported by itself: what counts is the lease it failed to extend, and when that runs
   * out the loss is reported (onLost) with the last heartbeat error as its cause.
   */
  private readonly heartbeat: BackgroundService;
  private lastHeartbeatError: unknown = undefined;
  /** The error of the last statement, cleared by the next that succeeds. */
  private lastStatementError: unknown = undefined;
  /** Further owners told of the loss after `onLost` (the liveness session hosts shard locks). */
  private readonly lossListeners = new Set<(session: LockSession, reason: LossReason, err?: unknown) => void>();

  private constructor(
    private readonly client: pg.Client,
    private readonly opts: ResolvedOwnershipOptions,
    private readonly onLost: (session: LockSession, reason: LossReason, err?: unknown) => void,
  ) {
    this.heartbeat = new BackgroundService({
      name: 'lock session heartbeat',
      intervalMs: opts.heartbeatIntervalMs,
      tick: async () => {
        await this.query('select 1');
        this.lastHeartbeatError = undefined;
      },
      reportError: (err) => (this.lastHeartbeatError = err),
    });
  }

  static async open(params: {
    connectionString: string;
    applicationName: string;
    options: ResolvedOwnershipOptions;
    onLost: (session: LockSession, reason: LossReason, err?: unknown) => void;
  }): Promise<LockSession> {
    const o = params.options;
    const serverLeaseS = Math.ceil(o.serverLeaseMs / 1000);
    const half = Math.max(1, Math.ceil(serverLeaseS / 2));
    const settings = [
      // The server lease. A user setting (PostgreSQL >= 14), so it applies to this session only.
      `idle_session_timeout=${o.serverLeaseMs}`,
      `idle_in_transaction_session_timeout=${o.serverLeaseMs}`,
      // Nothing on a lock session may block for long: its heartbeats queue behind it.
      `statement_timeout=${Math.max(100, Math.floor(o.clientLeaseMs / 2))}`,
      `lock_timeout=${Math.max(50, Math.floor(o.clientLeaseMs / 4))}`,
      // Second line (TCP only): idle + count × interval >= server lease, so never sooner than it.
      `tcp_keepalives_idle=${half}`,
      `tcp_keepalives_interval=1`,
      `tcp_keepalives_count=${half}`,
      `tcp_user_timeout=${o.serverLeaseMs}`,
    ];
    const client = new pg.Client({
      connectionString: params.connectionString,
      application_name: params.applicationName,
      options: settings.map((s) => `-c ${s}`).join(' '),
      keepAlive: true,
      keepAliveInitialDelayMillis: o.heartbeatIntervalMs,
      connectionTimeoutMillis: o.clientLeaseMs,
    });
    const session = new LockSession(client, o, params.onLost);
    client.on('error', (err) => session.markLost('connection_error', err));
    // A backend ended while a statement ran (pg_terminate_backend during a heartbeat) reports the
    // cause to that statement, not as an 'error' event: the loss carries it. That statement's
    // rejection is settled in a microtask after 'end', hence setImmediate.
    client.on('end', () => setImmediate(() => session.markLost('connection_ended', session.lastStatementError)));
    const startedAt = Date.now();
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      session.pid = rows[0].pid;
    } catch (err) {
      session.lost = true;
      await client.end().catch(() => {});
      throw err;
    }
    session.prove(startedAt);
    session.heartbeat.start();
    return session;
  }

  /** Locks held and not being handed over. */
  get activeCount(): number {
    return this.held.size - this.releasing.size;
  }

  /** Milliseconds of client lease left (<= 0: lost). */
  leaseRemainingMs(now = Date.now()): number {
    return this.lastProvenAt + this.opts.clientLeaseMs - now;
  }

  /**
   * Runs one statement on this session after the previous one finished. Success extends the
   * client lease from the moment the statement was handed to the driver. (A Queryable: the
   * ownership sql/ functions run on it.)
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const run = async (): Promise<pg.QueryResult<R>> => {
      if (this.lost) throw new Error('lock session lost');
      const sentAt = Date.now();
      try {
        const res = await this.client.query<R>(text, params);
        this.lastStatementError = undefined;
        this.prove(sentAt);
        return res;
      } catch (err) {
        this.lastStatementError = err;
        throw err;
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  /** Sets this session's application_name (how other instances count members). */
  async setApplicationName(name: string): Promise<void> {
    await this.query(`select set_config('application_name', $1, false)`, [name]);
  }

  private prove(at: number): void {
    if (this.lost || at <= this.lastProvenAt) return;
    this.lastProvenAt = at;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(
      () => this.markLost('lease_expired', this.lastHeartbeatError),
      Math.max(0, at + this.opts.clientLeaseMs - Date.now()),
    );
    this.leaseTimer.unref();
  }

  /**
   * Ownership can no longer be proven: stop everything at once. The socket is destroyed (a frozen
   * network would make a polite goodbye hang); the server frees the locks when it notices, at the
   * latest when the server lease ends the session.
   */
  markLost(reason: LossReason, err?: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.stopTimers();
    const closing = this.closing;
    try {
      (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    } catch {
      // already gone
    }
    this.client.end().catch(() => {});
    if (closing) return;
    this.onLost(this, reason, err);
    for (const listener of [...this.lossListeners]) listener(this, reason, err);
  }

  /**
   * Another owner of locks on this session is told of its loss too (after the opener's onLost):
   * the ownership manager, whose shard locks share the liveness session (src/cluster/liveness.ts).
   * Returns the function that stops telling it.
   */
  onLoss(listener: (session: LockSession, reason: LossReason, err?: unknown) => void): () => void {
    this.lossListeners.add(listener);
    return () => void this.lossListeners.delete(listener);
  }

  /** Graceful close after the caller unlocked (ending the session frees anything left anyway). */
  async close(): Promise<void> {
    this.closing = true;
    this.stopTimers();
    if (this.lost) return;
    this.lost = true;
    await Promise.race([
      this.client.end().catch(() => {}),
      new Promise((r) => setTimeout(r, this.opts.clientLeaseMs).unref()),
    ]);
    try {
      (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    } catch {
      // already gone
    }
  }

  private stopTimers(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = null;
    // Not awaited: a heartbeat in flight fails at once on the ended connection.
    void this.heartbeat.stop();
  }
}

/**
 * Every shard an instance believes it holds must show in pg_locks under its session's pid; a
 * session with one that does not cannot prove its ownership and must be given up.
 */
export function sessionsNotProven(
  sessions: LockSession[],
  locks: Array<{ shard: number; pid: number }>,
): LockSession[] {
  const seen = new Set(locks.map((l) => `${l.pid}:${l.shard}`));
  return sessions.filter(
    (s) => !s.lost && [...s.held].some((shard) => !s.releasing.has(shard) && !seen.has(`${s.pid}:${shard}`)),
  );
}
