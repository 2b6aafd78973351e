import pg from 'pg';
import { BackgroundService } from '../lifecycle/backgroundService.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';

/** How often the LISTEN connection is probed when EventListenerOptions.probeIntervalMs is unset. */
export const PROBE_INTERVAL_DEFAULT_MS = 10_000;
/** A probe slower than this counts as a lost connection (EventListenerOptions.probeTimeoutMs). */
export const PROBE_TIMEOUT_DEFAULT_MS = 5_000;
/** Reconnect backoff: first delay and cap (EventListenerOptions.reconnect*DelayMs). */
export const RECONNECT_INITIAL_DELAY_DEFAULT_MS = 100;
export const RECONNECT_MAX_DELAY_DEFAULT_MS = 5_000;

export type NotificationHandler = (payload: string) => void;

/** What a resync handler is told after the LISTEN connection came back. */
export interface ResyncInfo {
  /**
   * Database time at which the old connection was last known to be alive (its last successful
   * probe): notifications sent after it may have been missed. Null if never connected before.
   */
  since: Date | null;
  /** Reconnects so far, this one included. */
  reconnects: number;
}
/** Called after the LISTEN connection came back: anything sent meanwhile was missed. */
export type ResyncHandler = (info: ResyncInfo) => void | Promise<void>;

export interface EventListenerOptions {
  /**
   * How often the LISTEN connection is probed (`select now()`): detects a connection that died
   * silently (a partition keeps the socket open, NOTES.md) and bounds the catch-up window. 10 s.
   */
  probeIntervalMs?: number;
  /** A probe that takes longer than this counts as a lost connection. 5 s. */
  probeTimeoutMs?: number;
  /** Reconnect backoff after a failed attempt: first delay and cap. 100 ms, 5 s. */
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
}

/**
 * The client's one LISTEN connection. Subscribers register per channel; the connection LISTENs to
 * every channel with at least one subscriber, and reconnects with capped exponential backoff when
 * it drops or stops answering probes. Because NOTIFY is fire-and-forget, a reconnect may have
 * missed notifications: every `onResync` handler is then called (with the time from which things
 * may have been missed) so its owner can catch up from the tables, the source of truth.
 *
 * Its own pg.Client, never a pooled connection: a LISTEN belongs to one session.
 *
 * Two background services: the probe (periodic) and the reconnect, which is not periodic: it ticks
 * when the connection is lost (at once) and, while attempts fail, again after the shared backoff;
 * an attempt that succeeds ends it until the next loss.
 */
export class EventListener {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly resyncHandlers = new Set<ResyncHandler>();
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private readonly prober: BackgroundService;
  private readonly reconnector: BackgroundService;
  private everConnected = false;
  private queue: Promise<void> = Promise.resolve();
  /** Database time of the last successful probe (or connect) of the current connection. */
  lastAliveAt: Date | null = null;
  /** Counts reconnects, for health and tests. */
  reconnects = 0;
  private readonly probeTimeoutMs: number;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly reportError: ReportError,
    options: EventListenerOptions = {},
  ) {
    this.probeTimeoutMs = options.probeTimeoutMs ?? PROBE_TIMEOUT_DEFAULT_MS;
    this.prober = new BackgroundService({
      name: 'event listener probe',
      intervalMs: options.probeIntervalMs ?? PROBE_INTERVAL_DEFAULT_MS,
      tick: () => this.probe(),
      reportError,
    });
    this.reconnector = new BackgroundService({
      name: 'event listener reconnect',
      tick: () => this.reconnect(),
      reportError,
      errorBackoff: {
        baseMs: options.reconnectInitialDelayMs ?? RECONNECT_INITIAL_DELAY_DEFAULT_MS,
        maxMs: options.reconnectMaxDelayMs ?? RECONNECT_MAX_DELAY_DEFAULT_MS,
      },
    });
  }

  /**
   * Subscribes to a channel; returns the unsubscribe function. Resolves once LISTEN is active —
   * or, while the connection is down and being re-established, once the handler is registered
   * (it is LISTENed on reconnect, and resync handlers learn about the gap).
   */
  async subscribe(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const unsubscribe = async () => {
      const s = this.handlers.get(channel);
      if (!s || !s.delete(handler)) return;
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.serial(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
    if (this.everConnected && !this.client) {
      // Down: the reconnect (already retrying since the loss) LISTENs every registered channel.
      return unsubscribe;
    }
    await this.ensureConnected();
    if (isNew && this.client) await this.serial(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
    return unsubscribe;
  }

  /**
   * Runs one statement on the LISTEN connection after the previous one finished: pg deprecates
   * overlapping queries on one client, and LISTEN/UNLISTEN/probe may be issued concurrently.
   */
  private serial<T extends pg.QueryResultRow>(text: string): Promise<pg.QueryResult<T>> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('LISTEN connection is down'));
    const result = this.queue.then(() => client.query<T>(text));
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  onResync(handler: ResyncHandler): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** The server process id of the LISTEN connection (pg_stat_activity.pid), null when down. */
  get backendPid(): number | null {
    return (this.client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.prober.start();
    this.reconnector.start();
    try {
      await this.ensureConnected();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A reconnect in flight is not awaited (its connect may hang on a dead network until its
    // timeout): no attempt starts after this, and that one sees `stopped` and closes itself.
    void this.reconnector.stop();
    const c = this.client;
    this.client = null;
    // Ending the connection also ends a probe in flight, which stop() waits for.
    await Promise.all([this.prober.stop(), c?.end().catch(() => {})]);
  }

  private async ensureConnected(): Promise<void> {
    if (this.client || this.stopped) return;
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = null;
      });
    }
    await this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'agentpg-listener',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client.on('notification', (msg) => {
      const set = this.handlers.get(msg.channel);
      if (!set) return;
      for (const h of set) {
        try {
          h(msg.payload ?? '');
        } catch (err) {
          this.reportError(err, `event handler for ${msg.channel}`);
        }
      }
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      const { rows } = await client.query<{ now: Date }>('select now() as now');
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.lastAliveAt = rows[0].now;
    } catch (err) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    this.queue = Promise.resolve();
    this.everConnected = true;
  }

  /** The connection `client` is gone (error, end, failed probe): drop it and reconnect. */
  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = null;
    // A half-open socket may never answer end(): destroy it.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    client.end().catch(() => {});
    if (this.stopped) return;
    this.reportError(err ?? new Error('LISTEN connection ended'), 'event listener');
    void this.reconnector.wake();
  }

  /**
   * One probe of the current connection (`select now()`, bounded by probeTimeoutMs). A failure is
   * a lost connection, reported and reconnected by lost(): the tick itself never fails.
   */
  private async probe(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const probe = this.serial<{ now: Date }>('select now() as now');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`LISTEN connection probe timed out after ${this.probeTimeoutMs} ms`)),
          this.probeTimeoutMs,
        );
      });
      const { rows } = await Promise.race([probe, timeout]);
      if (this.client === client) this.lastAliveAt = rows[0].now;
    } catch (err) {
      this.lost(client, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One reconnect attempt, then the resync handlers (anything sent since the old connection was
   * last known alive may have been missed). A throw is retried by the reconnector after a backoff.
   */
  private async reconnect(): Promise<void> {
    if (this.client || this.stopped) return;
    const since = this.lastAliveAt;
    await this.ensureConnected();
    if (!this.client) return; // stopped meanwhile
    this.reconnects++;
    this.logger.info({ reconnects: this.reconnects }, 'event listener reconnected');
    const info: ResyncInfo = { since, reconnects: this.reconnects };
    for (const h of this.resyncHandlers) {
      try {
        await h(info);
      } catch (err) {
        this.reportError(err, 'resync handler');
      }
    }
  }
}
