import os from 'node:os';
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { PgBoss } from 'pg-boss';
import { resolveConfig, type AgentPGConfig, type ResolvedConfig } from './config.js';
import { createPool, waitForDatabase, type Pool } from './db/connection.js';
import { migrate, PGBOSS_SCHEMA } from './db/migrate.js';
import { AgentPGError } from './errors.js';
import { EventListener } from './events/listener.js';
import { createLogger, type Logger } from './logger.js';
import { Registry } from './model/registry.js';
import type { Runtime } from './runtime.js';

export const AGENTPG_VERSION = '0.1.0';

/**
 * The agentpg client: one per process. `start()` connects, migrates, registers this instance and
 * starts its services; `stop()` drains and hands work over. Any number of clients (processes) may
 * share one database; each run is executed by exactly one of them at a time.
 */
export class AgentPG {
  readonly config: ResolvedConfig;
  readonly instanceId: string;
  readonly registry: Registry;
  readonly logger: Logger;
  private runtime: Runtime | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(config: AgentPGConfig) {
    this.config = resolveConfig(config);
    this.instanceId = this.config.instanceId ?? randomUUID();
    this.registry = new Registry(this.config.agents, this.config.tools, this.config.longRunning);
    this.logger = (this.config.logger ?? createLogger()).child({ instanceId: this.instanceId });
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** The services' shared state; throws before start(). */
  protected get rt(): Runtime {
    if (!this.runtime) throw new AgentPGError('not_started', 'call client.start() first');
    return this.runtime;
  }

  async start(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'stopped') throw new AgentPGError('already_started', 'client already started');
    this.state = 'starting';
    const { config } = this;
    try {
      await waitForDatabase(config.databaseUrl);
      if (config.migrate) await migrate(config.databaseUrl);
      const pool = createPool(config.databaseUrl, { max: config.poolSize, applicationName: `agentpg:${this.instanceId}` });
      const reportError = (err: unknown, context?: string) => this.reportError(err, context);
      const boss = new PgBoss({
        connectionString: config.databaseUrl,
        schema: PGBOSS_SCHEMA,
        migrate: false,
        useListenNotify: true,
        application_name: `agentpg-boss:${this.instanceId}`,
      });
      boss.on('error', (err) => reportError(err, 'pg-boss'));
      const events = new EventListener(config.databaseUrl, this.logger, reportError);
      this.runtime = {
        config,
        instanceId: this.instanceId,
        hostname: config.hostname ?? os.hostname(),
        pool,
        boss,
        anthropic: new Anthropic({
          apiKey: config.anthropic?.apiKey ?? process.env.ANTHROPIC_API_KEY ?? 'missing-api-key',
          baseURL: config.anthropic?.baseURL,
          maxRetries: config.anthropic?.maxRetries ?? 0,
          timeout: config.anthropic?.timeoutMs ?? 600_000,
        }),
        registry: this.registry,
        events,
        logger: this.logger,
        reportError,
      };
      await boss.start();
      await events.start();
      // Services start here, in dependency order (each module adds its own line):
      // [cluster] register instance + heartbeat
      // [runs] run worker
      // [cleanup] singleton cleanup jobs
      // [ownership] long-running agents
      this.state = 'running';
    } catch (err) {
      await this.closeConnections();
      this.state = 'stopped';
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    // Services stop here, in reverse order (each module adds its own line).
    await this.closeConnections();
    this.state = 'stopped';
  }

  private async closeConnections(): Promise<void> {
    const rt = this.runtime;
    if (!rt) return;
    await rt.events.stop().catch(() => {});
    await rt.boss.stop({ graceful: false }).catch(() => {});
    await rt.pool.end().catch(() => {});
    this.runtime = null;
  }

  private reportError(err: unknown, context?: string): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.logger.warn({ err: { message: error.message, code: (error as { code?: string }).code }, context }, 'background error');
    try {
      this.config.onError?.(error);
    } catch {
      // A throwing onError must not take the client down.
    }
  }
}

export type { Pool };
