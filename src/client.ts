import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import { checkAnthropicCredentials, resolveConfig, type AgentPGConfig, type ResolvedConfig } from './config.js';
import { createPool, waitForDatabase, type Pool } from './db/connection.js';
import { migrate, PGBOSS_SCHEMA } from './db/migrate.js';
import type { Queryable } from './db/queryable.js';
import { PoolLane } from './db/poolLane.js';
import { AgentPGError, ConfigError, passwordOf } from './errors.js';
import { EventListener } from './events/listener.js';
import { ClientEvents } from './events/clientEvents.js';
import { CleanupService } from './cluster/cleanup.js';
import type { CleanupPassSummary } from './cluster/cleanupSummary.js';
import { probeDatabase, readCounter, type HealthStatus } from './cluster/health.js';
import { RunFailoverService } from './cluster/failover.js';
import { defaultRunHandBack } from './cluster/handBackRuns.js';
import { ClusterMembership } from './cluster/membership.js';
import { stopStep } from './cluster/shutdown.js';
import { createErrorReporter, type ReportError } from './lifecycle/reportError.js';
import { createLogger, type Logger } from './logger.js';
import { warnDeprecatedModels } from './model/deprecatedModels.js';
import { Registry } from './model/registry.js';
import { LongRunningApi } from './ownership/api.js'; // [ownership]
import { OwnershipManager } from './ownership/manager.js'; // [ownership]
import { resolveOwnershipOptions } from './ownership/options.js'; // [ownership]
import type { Runtime } from './runtime.js';
import { secretsOf } from './mcp/config.js'; // [mcp]
import { createRateLimiter } from './ratelimit/index.js'; // [ratelimit]
import { McpServers } from './mcp/servers.js'; // [mcp]
import { AgentHandle, RunsApi } from './runs/api.js'; // [runs]
import { RunsService } from './runs/service.js'; // [runs]
import { createAnthropicClient } from './runs/modelCall.js'; // [runs]
import { ApprovalsApi } from './runs/approvals.js'; // [runs]
import { bossDb } from './runs/db.js'; // [runs]
import { InputsApi } from './runs/inputs.js'; // [runs]
import { RetentionService } from './retention/service.js'; // [retention]
import type { RetentionPassSummary } from './retention/pass.js'; // [retention]
import { resolveRetention, type RetentionConfig } from './retention/settings.js'; // [retention]
import { SessionsWithRetentionApi } from './retention/sessionsApi.js'; // [retention]
import { BatchPollService } from './batch/service.js'; // [batch]
import type { BatchPassSummary } from './batch/passSummary.js'; // [batch]

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
  /** Background failures: logged with their stack, then config.onError. Never throws. */
  private readonly reportError: ReportError;
  private runtime: Runtime | null = null;
  private clientEvents: ClientEvents | null = null; // [cluster]
  private membership: ClusterMembership | null = null; // [cluster]
  private cleanup: CleanupService | null = null; // [cleanup]
  private failover: RunFailoverService | null = null; // [cluster]
  private ownership: OwnershipManager | null = null; // [ownership]
  private mcp: McpServers | null = null; // [mcp]
  private retention: RetentionService | null = null; // [retention]
  private batchPoll: BatchPollService | null = null; // [batch]
  /** Long-running agents (src/ownership): start/stop/list/get/metrics, from any instance after start(). */
  readonly longRunning = new LongRunningApi(
    () => this.rt,
    () => this.ownership,
  ); // [ownership]
  private runsService: RunsService | null = null; // [runs]
  /** Runs by id from any instance: get, wait, result, cancel, stream. After start(). */
  readonly runs = new RunsApi(
    () => this.rt,
    () => this.runsModule().channels,
  ); // [runs]
  /** Tool calls waiting for a person's approval: list, decide. After start(). */
  readonly approvals = new ApprovalsApi(() => this.rt); // [runs]
  /** Questions tools asked the user (requestInput), and their answers. */
  readonly inputs = new InputsApi(() => this.rt); // [runs]
  /** Sessions and their stored messages; export and holds (src/retention). After start(). */
  readonly sessions = new SessionsWithRetentionApi(() => this.rt); // [runs] [retention]
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(config: AgentPGConfig) {
    this.config = resolveConfig(config);
    this.instanceId = this.config.instanceId ?? randomUUID();
    this.registry = new Registry(this.config.agents, this.config.tools, this.config.longRunning, {
      maxAgentDepth: this.config.maxAgentDepth,
    });
    checkAnthropicCredentials(this.config);
    this.logger = (this.config.logger ?? createLogger()).child({ instanceId: this.instanceId });
    // config.onError read at each report: it may be set on the config after construction.
    this.reportError = createErrorReporter(this.logger, (err) => this.config.onError?.(err));
    warnDeprecatedModels(this.registry.agents.values(), this.logger);
    // [mcp] With MCP servers, the tools are known at start(): warned about there.
    if (!this.config.mcpServers?.length) this.warnMissingTools();
  }

  private warnMissingTools(): void {
    for (const [agent, missingTools] of this.registry.missingTools)
      this.logger.warn(
        { agent, missingTools },
        `agent "${agent}" uses tools not registered on this instance (${missingTools.join(', ')}): its runs can be enqueued here but run only on instances that have them all`,
      );
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** @internal The services' shared state; throws before start(). */
  protected get rt(): Runtime {
    if (!this.runtime) throw new AgentPGError('not_started', 'call client.start() first');
    return this.runtime;
  }

  async start(): Promise<void> {
    if (this.state !== 'new' && this.state !== 'stopped')
      throw new AgentPGError('already_started', 'client already started');
    this.state = 'starting';
    const { config } = this;
    try {
      await waitForDatabase(config.databaseUrl, { attempts: config.connectAttempts });
      if (config.migrate) await migrate(config.databaseUrl);
      const pool = createPool(config.databaseUrl, {
        max: config.poolSize,
        applicationName: `agentpg:${this.instanceId}`,
      });
      const { reportError } = this;
      // [cluster] The periodic duties share one lane of the pool (src/db/poolLane.ts).
      const background = new PoolLane(pool, 1);
      const boss = new PgBoss({
        // pg-boss runs on agentpg's pool instead of a pool of its own (up to 10 more connections):
        // every pg-boss statement is one autocommit statement or one multi-statement string (its
        // own BEGIN ... COMMIT), and the runs' fetch/claim/finalize already pass a transaction's
        // client through `{ db }`. pg-boss then never opens or closes a connection itself. Its own
        // statements (supervise, monitor, touch, the cleanup queue's fetch) take the duties' lane.
        db: bossDb(background),
        schema: PGBOSS_SCHEMA,
        migrate: false,
        // [runs] No LISTEN connection for pg-boss: every listening backend of the database runs a
        // transaction of its own for each committed NOTIFY (Postgres signals all of a database's
        // listeners, whatever the channel), so a second listener cost ~2 commits per run. The runs
        // queue is woken by agentpg's own listener (notify: false, src/runs/queue.ts); the cleanup
        // queue polls (src/cluster/cleanup.ts, at most half a cleanup slot).
        useListenNotify: false,
        // [runs] How soon a run whose worker died is retried: its job heartbeat (10 s, see
        // src/runs/queue.ts) is checked at every supervise/monitor pass (default 60 s each).
        superviseIntervalSeconds: 5,
        monitorIntervalSeconds: 5,
      });
      boss.on('error', (err) => reportError(err, 'pg-boss'));
      const events = new EventListener(config.databaseUrl, this.logger, reportError);
      const anthropic = createAnthropicClient(config);
      // Redacted from every error and log line; a client passed in brings its own key.
      const apiKey = config.anthropic?.apiKey ?? process.env.ANTHROPIC_API_KEY ?? anthropic.apiKey ?? undefined;
      // [mcp] The values of MCP servers' env and headers are secrets too.
      const secrets = [apiKey, passwordOf(config.databaseUrl), ...secretsOf(config.mcpServers ?? [])].filter(
        (s): s is string => !!s,
      );
      this.runtime = {
        config,
        instanceId: this.instanceId,
        hostname: config.hostname ?? os.hostname(),
        pool,
        background,
        boss,
        anthropic,
        registry: this.registry,
        events,
        logger: this.logger,
        reportError,
        secrets,
        health: {},
        runs: { localWorker: null, enqueueBatcher: null },
        // [ratelimit] One bucket per (model, key hash), shared through the database.
        rateLimiter: createRateLimiter(pool, config.rateLimits, anthropic.apiKey ?? apiKey, reportError),
      };
      this.clientEvents = new ClientEvents(events, pool, reportError);
      await boss.start();
      await events.start();
      // Services start here, in dependency order (each module adds its own line):
      // [mcp] MCP servers: their tools join the registry before the instance registers what it can run
      if (config.mcpServers?.length) {
        this.mcp = await McpServers.start(config.mcpServers, {
          logger: this.logger,
          secrets,
          clientVersion: AGENTPG_VERSION,
          toolTimeoutMs: config.toolTimeoutMs,
        });
        this.registry.setStartTools(this.mcp.tools);
        this.warnMissingTools();
      }
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
        pool: background,
        logger: this.logger,
        reportError,
        cleanupIntervalMs: config.cleanupIntervalMs,
        instanceTtlMs: config.instanceTtlMs,
        stuckRunTimeoutMs: config.stuckRunTimeoutMs,
        onCleanupPass: config.onCleanupPass,
      });
      await this.cleanup.start();
      // [retention] retention passes, only when an age is configured (off by default)
      const retention = resolveRetention(config.retention);
      if (retention) {
        this.retention = new RetentionService({
          instanceId: this.instanceId,
          boss,
          pool,
          logger: this.logger,
          reportError,
          settings: retention,
          onRetentionPass: config.onRetentionPass,
        });
        await this.retention.start();
        this.runtime.health.retentionPassesRun = () => this.retention?.passesRun ?? 0;
      }
      // [batch] the cluster's one batch poller (singleton jobs), offered by instances that run agents
      // (they hold the API key the batches are created with)
      if (this.registry.agents.size > 0) {
        this.batchPoll = new BatchPollService(this.runtime);
        await this.batchPoll.start();
      }
      // [cluster] instant failover: peers whose liveness lock is gone get their runs handed back
      this.failover = new RunFailoverService({
        instanceId: this.instanceId,
        db: background,
        intervalMs: config.runFailoverIntervalMs,
        handBack: defaultRunHandBack(boss, background, this.logger),
        logger: this.logger,
        reportError,
        onHandedBack: () => this.runsService?.worker.wake(),
      });
      this.failover.start();
      this.runtime.health.runsHandedBackByFailover = () => this.failover?.runsHandedBack ?? 0;
      this.runtime.health.runsTakenOver = () => this.runsService?.worker.runsTakenOver ?? 0;
      this.runtime.health.runsFetched = () => this.runsService?.worker.runsFetched ?? 0;
      this.runtime.health.foreignRunsFetched = () => this.runsService?.worker.foreignRunsFetched ?? 0;
      this.runtime.health.runWritesRefused = () => this.runsService?.worker.runWritesRefused ?? 0;
      // [ownership] long-running agents
      // The shard locks share the liveness session: one dedicated connection for both.
      this.ownership = new OwnershipManager(
        this.runtime,
        resolveOwnershipOptions(config.ownership),
        () => this.membership?.liveness.lockSession ?? null,
      );
      this.runtime.health.ownedLongRunningAgents = () => this.ownership?.metrics.agents_running ?? 0;
      await this.ownership.start();
      this.state = 'running';
    } catch (err) {
      await this.ownership?.stop().catch(() => {}); // [ownership]
      await this.failover?.stop().catch(() => {});
      await this.retention?.stop().catch(() => {}); // [retention]
      await this.batchPoll?.stop().catch(() => {}); // [batch]
      await this.cleanup?.stop().catch(() => {});
      await this.runsService?.stop(0).catch(() => {}); // [runs]
      await this.membership?.stop().catch(() => {});
      await this.mcp?.close().catch(() => {}); // [mcp]
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
    const report = this.reportError;
    // [ownership] hand long-running agents over at once (first: others take them over meanwhile)
    await stopStep('ownership', () => this.ownership?.stop(), this.logger, report);
    // [retention] no new passes; a pass in progress stops after its current batch
    await stopStep('retention', () => this.retention?.stop(), this.logger, report);
    // [cleanup] no new cleanup passes (a pass in progress finishes; they are short)
    await stopStep('cleanup', () => this.cleanup?.stop(), this.logger, report);
    // [batch] no new poll passes (a pass in progress finishes)
    await stopStep('batch', () => this.batchPoll?.stop(), this.logger, report);
    await stopStep('failover', () => this.failover?.stop(), this.logger, report);
    // [runs] drain in-flight runs up to shutdownTimeoutMs, hand the rest back unfailed
    await stopStep('runs', () => this.runsService?.stop(this.config.shutdownTimeoutMs), this.logger, report);
    // [mcp] after the drain (tools in flight used them): close MCP connections, end stdio servers
    await stopStep('mcp', () => this.mcp?.close(), this.logger, report);
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
    this.retention = null; // [retention]
    this.batchPoll = null; // [batch]
    this.failover = null;
    this.runsService = null; // [runs]
    this.mcp = null; // [mcp]
    await rt.events.stop().catch(() => {});
    await rt.boss.stop({ graceful: false }).catch(() => {});
    await rt.pool.end().catch(() => {});
    this.runtime = null;
  }

  /**
   * The client's statement pool as a Queryable, for an application's own reads next to agentpg's
   * (the service's metrics, probes and API-key lookups): no extra connections. Each query takes a
   * pooled connection at call time; it fails with `not_started` before start() and after stop().
   */
  readonly db: Queryable = {
    query: (text, values) => this.rt.pool.query(text, values),
  };

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
      livenessHeld: this.membership?.liveness.pid != null,
      runsHandedBackByFailover: readCounter(rt?.health.runsHandedBackByFailover),
      runsTakenOver: readCounter(rt?.health.runsTakenOver),
      runWritesRefused: readCounter(rt?.health.runWritesRefused),
      retentionPassesRun: readCounter(rt?.health.retentionPassesRun),
      runsFetched: readCounter(rt?.health.runsFetched),
      foreignRunsFetched: readCounter(rt?.health.foreignRunsFetched),
    };
  }

  /** [batch] Runs one batch poll pass now on this instance (operations, tests); normally pg-boss schedules them. */
  async runBatchPass(): Promise<BatchPassSummary> {
    if (!this.batchPoll)
      throw new AgentPGError('not_started', 'call client.start() first (on an instance with agents)');
    return this.batchPoll.runPass();
  }

  /** Runs one cleanup pass now on this instance (operations, tests); normally pg-boss schedules them. */
  async runCleanupPass(): Promise<CleanupPassSummary> {
    if (!this.cleanup) throw new AgentPGError('not_started', 'call client.start() first');
    return this.cleanup.runPass();
  }

  /**
   * [retention] Runs one retention pass now on this instance, with the configured settings or
   * `settings` (which must name an age); normally pg-boss schedules them every retention.intervalMs.
   */
  async runRetentionPass(settings?: RetentionConfig): Promise<RetentionPassSummary> {
    const rt = this.rt;
    if (settings === undefined && this.retention) return await this.retention.runPass();
    const resolved = resolveRetention(
      resolveConfig({ databaseUrl: rt.config.databaseUrl, retention: settings }).retention,
    );
    if (!resolved) throw new ConfigError('retention is off: set retention.finishedRunsMaxAgeMs or retention.perTenant');
    return await new RetentionService({
      instanceId: this.instanceId,
      boss: rt.boss,
      pool: rt.pool,
      logger: this.logger,
      reportError: this.reportError,
      settings: resolved,
    }).runPass();
  }
}

export type { Pool };
