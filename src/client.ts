import os from 'node:os';
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { PgBoss } from 'pg-boss';
import { resolveConfig, type AgentPGConfig, type ResolvedConfig } from './config.js';
import { createPool, waitForDatabase, type Pool } from './db/connection.js';
import { migrate, PGBOSS_SCHEMA } from './db/migrate.js';
import { AgentPGError } from './errors.js';
import { EventListener } from './events/listener.js';
import { ClientEvents } from './events/clientEvents.js';
import { CleanupService, type CleanupPassSummary } from './cluster/cleanup.js';
import { probeDatabase, readCounter, type HealthStatus } from './cluster/health.js';
import { ClusterMembership } from './cluster/membership.js';
import { stopStep } from './cluster/shutdown.js';
import { createLogger, type Logger } from './logger.js';
import { Registry } from './model/registry.js';
import { LongRunningApi } from './ownership/api.js'; // [ownership]
import { OwnershipManager } from './ownership/manager.js'; // [ownership]
import { resolveOwnershipOptions } from './ownership/options.js'; // [ownership]
import type { Runtime } from './runtime.js';
import { AgentHandle, RunsApi, RunsService, SessionsApi } from './runs/index.js'; // [runs]

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
  private clientEvents: ClientEvents | null = null; // [cluster]
  private membership: ClusterMembership | null = null; // [cluster]
  private cleanup: CleanupService | null = null; // [cleanup]
  private ownership: OwnershipManager | null = null; // [ownership]
  /** Long-running agents (seed 004): start/stop/list/get/metrics, from any instance after start(). */
  readonly longRunning = new LongRunningApi(() => this.rt, () => this.ownership); // [ownership]
  private runsService: RunsService | null = null; // [runs]
  /** Runs by id from any instance: get, wait, result, cancel, stream. After start(). */
  readonly runs = new RunsApi(() => this.rt, () => this.runsModule().channels); // [runs]
  /** Sessions and their stored messages. After start(). */
  readonly sessions = new SessionsApi(() => this.rt); // [runs]
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
      await waitForDatabase(config.databaseUrl, { attempts: config.connectAttempts });
      if (config.migrate) await migrate(config.databaseUrl);
      const pool = createPool(config.databaseUrl, { max: config.poolSize, applicationName: `agentpg:${this.instanceId}` });
      const reportError = (err: unknown, context?: string) => this.reportError(err, context);
      const boss = new PgBoss({
        connectionString: config.databaseUrl,
        schema: PGBOSS_SCHEMA,
        migrate: false,
        // [runs] No LISTEN connection for pg-boss: every listening backend of the database runs a
        // transaction of its own for each committed NOTIFY (Postgres signals all of a database's
        // listeners, whatever the channel), so a second listener cost ~2 commits per run. The runs
        // queue is woken by agentpg's own listener (notify: false, src/runs/queue.ts); the cleanup
        // queue polls (src/cluster/cleanup.ts, at most half a cleanup slot).
        useListenNotify: false,
        application_name: `agentpg-boss:${this.instanceId}`,
        // [runs] How soon a run whose worker died is retried: its job heartbeat (10 s, see
        // src/runs/queue.ts) is checked at every supervise/monitor pass (default 60 s each).
        superviseIntervalSeconds: 5,
        monitorIntervalSeconds: 5,
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
        health: {},
      };
      this.clientEvents = new ClientEvents(events, pool, reportError);
      await boss.start();
      await events.start();
      // Services start here, in dependency order (each module adds its own line):
      // [cluster] register instance + heartbeat
      this.membership = new ClusterMembership(this.runtime, AGENTPG_VERSION);
      await this.membership.start();
      // [runs] run worker
      this.runsService = await RunsService.start(this.runtime);
      this.runtime.health.inFlightRuns = () => this.runsService?.worker.activeRuns ?? 0;
      // [cleanup] singleton cleanup jobs
      this.cleanup = new CleanupService({
        instanceId: this.instanceId,
        boss,
        pool,
        logger: this.logger,
        reportError,
        cleanupIntervalMs: config.cleanupIntervalMs,
        instanceTtlMs: config.instanceTtlMs,
        stuckRunTimeoutMs: config.stuckRunTimeoutMs,
        onCleanupPass: config.onCleanupPass,
      });
      await this.cleanup.start();
      // [ownership] long-running agents
      this.ownership = new OwnershipManager(this.runtime, resolveOwnershipOptions(config.ownership));
      this.runtime.health.ownedLongRunningAgents = () => this.ownership?.metrics.agents_running ?? 0;
      await this.ownership.start();
      this.state = 'running';
    } catch (err) {
      await this.ownership?.stop().catch(() => {}); // [ownership]
      await this.cleanup?.stop().catch(() => {});
      await this.runsService?.stop(0).catch(() => {}); // [runs]
      await this.membership?.stop().catch(() => {});
      await this.closeConnections();
      this.state = 'stopped';
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    // Services stop here, in reverse order (each module adds its own line). The order and why:
    // src/cluster/shutdown.ts. Every step goes through stopStep: one failing step never skips the rest.
    const report = (err: unknown, context?: string) => this.reportError(err, context);
    // [ownership] hand long-running agents over at once (first: others take them over meanwhile)
    await stopStep('ownership', () => this.ownership?.stop(), this.logger, report);
    // [cleanup] no new cleanup passes (a pass in progress finishes; they are short)
    await stopStep('cleanup', () => this.cleanup?.stop(), this.logger, report);
    // [runs] drain in-flight runs up to shutdownTimeoutMs, hand the rest back unfailed
    await stopStep('runs', () => this.runsService?.stop(this.config.shutdownTimeoutMs), this.logger, report);
    // [cluster] only after the drain: stop the heartbeat, delete the instance row (links cascade)
    await stopStep('deregister', () => this.membership?.stop(), this.logger, report);
    await this.closeConnections();
    this.state = 'stopped';
  }

  private async closeConnections(): Promise<void> {
    const rt = this.runtime;
    if (!rt) return;
    this.clientEvents?.close();
    this.clientEvents = null;
    this.membership = null;
    this.cleanup = null;
    this.runsService = null; // [runs]
    await rt.events.stop().catch(() => {});
    await rt.boss.stop({ graceful: false }).catch(() => {});
    await rt.pool.end().catch(() => {});
    this.runtime = null;
  }

  /**
   * Typed cluster events: run_state_changed, instance_registered, instance_deregistered,
   * ownership_changed, resync. `const off = await client.events.subscribe('run_state_changed', fn)`.
   * Available between start() and stop().
   */
  get events(): ClientEvents {
    if (!this.clientEvents) throw new AgentPGError('not_started', 'call client.start() first');
    return this.clientEvents;
  }

  /** [runs] A registered agent's handle (sessions, runs). Unknown name: NotFoundError. */
  agent(name: string): AgentHandle {
    this.registry.agent(name);
    return new AgentHandle(name, () => this.rt, this.runs);
  }

  /** [runs] The started runs module; throws before start(). */
  private runsModule(): RunsService {
    if (!this.runsService) throw new AgentPGError('not_started', 'call client.start() first');
    return this.runsService;
  }

  /** For health endpoints: never throws; `running` false before start() and after stop(). */
  async health(): Promise<HealthStatus> {
    const rt = this.runtime;
    return {
      instanceId: this.instanceId,
      running: this.isRunning,
      databaseReachable: rt ? await probeDatabase(rt.pool) : false,
      ownedLongRunningAgents: readCounter(rt?.health.ownedLongRunningAgents),
      inFlightRuns: readCounter(rt?.health.inFlightRuns),
      eventsConnected: rt?.events.connected ?? false,
    };
  }

  /** Runs one cleanup pass now on this instance (operations, tests); normally pg-boss schedules them. */
  async runCleanupPass(): Promise<CleanupPassSummary> {
    if (!this.cleanup) throw new AgentPGError('not_started', 'call client.start() first');
    return this.cleanup.runPass();
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
