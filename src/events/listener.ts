import pg from 'pg';
import type { Logger } from '../logger.js';

export type NotificationHandler = (payload: string) => void;
/** Called after the LISTEN connection came back: anything sent meanwhile was missed. */
export type ResyncHandler = () => void;

/**
 * The client's one LISTEN connection. Subscribers register per channel; the connection is opened
 * lazily, LISTENs to every channel with at least one subscriber, and reconnects with capped
 * exponential backoff when it drops. Because NOTIFY is fire-and-forget, a reconnect may have
 * missed notifications: every `onResync` handler is then called so its owner can catch up from
 * the tables (the source of truth).
 */
export class EventListener {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly resyncHandlers = new Set<ResyncHandler>();
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Counts reconnects, for health and tests. */
  reconnects = 0;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly reportError: (err: unknown, context?: string) => void,
  ) {}

  /** Subscribes to a channel; returns the unsubscribe function. Resolves once LISTEN is active. */
  async subscribe(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    await this.ensureConnected();
    if (isNew && this.client) await this.client.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
    return async () => {
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
  }

  onResync(handler: ResyncHandler): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.ensureConnected();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
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
    const onLost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => {});
      if (this.stopped) return;
      this.reportError(err ?? new Error('LISTEN connection ended'), 'event listener');
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    this.client = client;
    this.reconnectDelayMs = 100;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopped) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = null;
      try {
        await this.ensureConnected();
        this.reconnects++;
        this.logger.info({ reconnects: this.reconnects }, 'event listener reconnected');
        for (const h of this.resyncHandlers) {
          try {
            h();
          } catch (err) {
            this.reportError(err, 'resync handler');
          }
        }
      } catch (err) {
        this.reportError(err, 'event listener reconnect');
        this.scheduleReconnect();
      }
    }, delay);
    this.reconnectTimer.unref();
  }
}
