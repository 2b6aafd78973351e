import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { defaultPoolSize, POOL_SIZE_DEFAULT_MAX } from './db/connection.js';
import type { AgentDefinition } from './model/agent.js';
import type { ToolDefinition } from './model/tool.js';
import type { LongRunningAgentFailure, LongRunningKind, OwnershipOptions } from './ownership/types.js';
import { validateOwnershipConfig } from './ownership/validate.js';
import type { Logger } from './logger.js';
import { CLEANUP_INTERVAL_DEFAULT_MS } from './cluster/cleanup.js';
import type { CleanupPassSummary } from './cluster/cleanupSummary.js';
import { RUN_FAILOVER_INTERVAL_DEFAULT_MS } from './cluster/failover.js';
import { HEARTBEAT_INTERVAL_DEFAULT_MS } from './cluster/heartbeat.js';
import { RUN_POLL_INTERVAL_MS } from './runs/queue.js';
import type { RunStepHook } from './runs/stepTypes.js';
import { mcpServersSchema, type McpServerConfig } from './mcp/config.js';
import { budgetsSchema, type Budgets } from './costs/budgets.js';
import { DEFAULT_PRICES, priceOf, type PriceTable } from './costs/prices.js';
import { retentionSchema, type RetentionConfig } from './retention/settings.js';
import type { RetentionPassSummary } from './retention/pass.js';
import { rateLimitSettingsSchema, type RateLimitSettings } from './ratelimit/settings.js';
import type { BatchSettings } from './batch/settings.js';

/** What a user passes to `new AgentPG(...)`. Durations are milliseconds. */
export interface AgentPGConfig {
  /** postgres://... Direct or session-pooled connections only (LISTEN/NOTIFY and advisory locks). */
  databaseUrl: string;
  anthropic?: {
    /**
     * An Anthropic client of your own (`new Anthropic({...})`), used as is: its key, base URL,
     * retries and timeout are yours, so the fields below must be left out. agentpg retries 429/529/5xx
     * itself, so give it `maxRetries: 0` unless you want the two to multiply.
     */
    client?: Anthropic;
    /** Default: ANTHROPIC_API_KEY. Required (or `client`) when this instance registers agents. */
    apiKey?: string;
    /** Points the SDK elsewhere (the offline fake from `agentpg/testing`, a proxy). */
    baseURL?: string;
    /** SDK-level retries per model call; agentpg retries 429/529/5xx itself on top. Default 0. */
    maxRetries?: number;
    /** Request timeout for one model call. Default 10 min. */
    timeoutMs?: number;
  };
  agents?: AgentDefinition[];
  tools?: ToolDefinition[];
  /**
   * [mcp] MCP servers whose tools this instance offers: each tool is an agent tool named
   * `<server>__<tool>` (src/mcp/config.ts for every setting). Connected at start().
   */
  mcpServers?: McpServerConfig[];
  /**
   * [costs] USD per million tokens per model, merged over DEFAULT_PRICES (src/costs/prices.ts):
   * `{ 'my-model': { inputPerMTok: 3, outputPerMTok: 15, cacheWriteMultiplier?: 1.25, cacheReadMultiplier?: 0.1, batchMultiplier?: 0.5 } }`.
   */
  prices?: PriceTable;
  /**
   * [batch] Batch mode (Message Batches API): the cluster's one poll job and its limits
   * (src/batch/settings.ts). Runs ask for it with `enqueue(..., { batch: true })` or the agent's `batch`.
   */
  batch?: BatchSettings;
  /** [costs] Limits per run and per tenant per period, checked before each model call (src/costs/budgets.ts). */
  budgets?: Budgets;
  /**
   * [ratelimit] Cluster-wide rate limits of model calls per model and API key: on by default, limits
   * learned from the API's rate-limit headers unless configured (src/ratelimit/settings.ts).
   */
  rateLimits?: RateLimitSettings;
  /** Kinds of long-running agent this instance can own (src/ownership). */
  longRunning?: LongRunningKind[];
  /**
   * [ownership] Called once, on the owning instance, when it gives up on a long-running agent
   * whose handler kept throwing (ownership.maxRestarts within ownership.restartWindowMs): the
   * agent is then inactive with state `failed`. A throw is reported to onError.
   */
  onLongRunningAgentFailed?: (failure: LongRunningAgentFailure) => void;
  /** Tuning of long-running agent ownership: shards, lock budget, leases (src/ownership/options.ts). */
  ownership?: OwnershipOptions;
  /** Default: a random UUID. */
  instanceId?: string;
  /** Default: os.hostname(). */
  hostname?: string;
  metadata?: Record<string, unknown>;
  /** Apply migrations on start(). Default true. */
  migrate?: boolean;
  /** How often this instance refreshes its agentpg_instances row. Default 30 s. */
  heartbeatIntervalMs?: number;
  /** An instance whose heartbeat is older than this is stale: cleanup removes it. Default 2 min. */
  instanceTtlMs?: number;
  /** How often one instance of the cluster runs a cleanup pass. Default 1 min. */
  cleanupIntervalMs?: number;
  /**
   * How often this instance reads the server's lock table for peers whose liveness lock is gone
   * (dead, or silent past `ownership.serverLeaseMs`), to hand their runs back at once
   * (src/cluster/failover.ts). Default 250 ms; 0 turns it off (the cleanup pass's heartbeat TTL
   * and pg-boss's job heartbeat remain).
   */
  runFailoverIntervalMs?: number;
  /**
   * A run `running` for longer than this is failed with "run timed out". Counted from when it last
   * entered `running`: time spent waiting (approval, input, children) does not count. Default 1 h.
   */
  stuckRunTimeoutMs?: number;
  /** How long stop() lets in-flight work finish before handing it back. Default 25 s. */
  shutdownTimeoutMs?: number;
  /** How many runs this instance executes at once. Default 100. */
  runConcurrency?: number;
  /**
   * How often the worker looks for runs when nothing wakes it: the backstop for jobs that come due
   * without a notification (a retry; a run handed back by an instance that died). Runs enqueued,
   * decided, answered or deferred by a live instance wake a worker at once. Default 2 s.
   */
  runPollIntervalMs?: number;
  /** Runs of one tenant in flight across all instances. Default: unlimited. */
  tenantConcurrency?: number;
  /** Bound on model turns per run. Default 20. */
  maxToolIterations?: number;
  /** Per tool call. Default 60 s. */
  toolTimeoutMs?: number;
  /**
   * Agents as tools: how deep child runs may nest (a run enqueued by a caller has depth 0, its
   * children 1, ...). Agent definitions whose `agents` chains go deeper are a ConfigError. Default 5.
   */
  maxAgentDepth?: number;
  /**
   * Database connections agentpg's one statement pool may hold; pg-boss runs on it too. Default
   * min(6, runConcurrency + 2): with the instance session and one lock session an instance then
   * holds at most 8 connections (src/db/connection.ts, README "Connections").
   */
  poolSize?: number;
  /** Background failures (heartbeat, cleanup, reconnects) are reported here and never thrown. */
  onError?: (err: Error) => void;
  /**
   * [cluster] Called after each cleanup pass this instance ran. There is no leader (cleanup passes
   * are pg-boss singleton jobs), so there are no leadership callbacks.
   */
  onCleanupPass?: (summary: CleanupPassSummary) => void;
  /** [cluster] Attempts to reach the database in start() before a DatabaseUnavailableError. Default 5. */
  connectAttempts?: number;
  /**
   * [retention] Deletes (or archives) sessions whose runs all finished longer ago than an age, in
   * small batches, by a pass every `intervalMs` on one instance (src/retention/settings.ts). Off
   * by default: nothing is ever deleted unless an age is set here.
   */
  retention?: RetentionConfig;
  /** [retention] Called after each retention pass this instance ran. */
  onRetentionPass?: (summary: RetentionPassSummary) => void;
  /**
   * [runs] Called right after each durable step of a run commits (enqueued, claimed,
   * tool_turn_stored, tools_started, tool_result_stored, finalized; see src/runs/steps.ts), and
   * awaited: for tracing, or to act at exactly that point. A throw is reported to onError, never
   * fails the run. Unset: costs nothing.
   */
  onRunStep?: RunStepHook;
  logger?: Logger;
}

const durationMs = z.number().int().positive();

const configSchema = z.object({
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string'),
  anthropic: z
    .object({
      client: z
        .custom<Anthropic>(
          (v) => typeof (v as Anthropic | null)?.messages?.stream === 'function',
          'must be an Anthropic client (new Anthropic({...}) from @anthropic-ai/sdk)',
        )
        .optional(),
      apiKey: z.string().min(1).optional(),
      baseURL: z.string().url().optional(),
      maxRetries: z.number().int().min(0).optional(),
      timeoutMs: durationMs.optional(),
    })
    .optional(),
  agents: z.array(z.any()).optional(),
  tools: z.array(z.any()).optional(),
  mcpServers: mcpServersSchema.optional(),
  prices: z
    .record(
      z.string(),
      z
        .object({
          inputPerMTok: z.number().nonnegative(),
          outputPerMTok: z.number().nonnegative(),
          cacheWriteMultiplier: z.number().nonnegative().optional(),
          cacheReadMultiplier: z.number().nonnegative().optional(),
          batchMultiplier: z.number().nonnegative().optional(),
        })
        .strict(),
    )
    .optional(),
  budgets: budgetsSchema.optional(),
  rateLimits: rateLimitSettingsSchema.optional(),
  batch: z
    .object({
      pollIntervalMs: durationMs.optional(),
      maxRequestsPerBatch: z.number().int().min(1).max(100_000).optional(),
      maxTries: z.number().int().min(1).max(10).optional(),
      reconcileAfterMs: z.number().int().min(0).optional(),
      onStep: z.function().optional(),
    })
    .strict()
    .optional(),
  longRunning: z.array(z.any()).optional(),
  ownership: z.any().optional(),
  instanceId: z.string().min(1).max(255).optional(),
  hostname: z.string().max(255).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  migrate: z.boolean().optional(),
  heartbeatIntervalMs: durationMs.optional(),
  instanceTtlMs: durationMs.optional(),
  cleanupIntervalMs: durationMs.optional(),
  runFailoverIntervalMs: z.number().int().min(0).optional(),
  stuckRunTimeoutMs: durationMs.optional(),
  shutdownTimeoutMs: durationMs.optional(),
  runConcurrency: z.number().int().positive().optional(),
  runPollIntervalMs: z.number().int().min(50).max(3_600_000).optional(),
  tenantConcurrency: z.number().int().positive().optional(),
  maxToolIterations: z.number().int().positive().optional(),
  toolTimeoutMs: durationMs.optional(),
  maxAgentDepth: z.number().int().positive().max(100).optional(),
  poolSize: z.number().int().min(2).optional(),
  onError: z.function().optional(),
  onCleanupPass: z.function().optional(),
  onRunStep: z.function().optional(),
  onLongRunningAgentFailed: z.function().optional(),
  connectAttempts: z.number().int().positive().optional(),
  retention: retentionSchema.optional(),
  onRetentionPass: z.function().optional(),
  logger: z.any().optional(),
});

export type ResolvedConfig = Required<
  Pick<
    AgentPGConfig,
    | 'databaseUrl'
    | 'heartbeatIntervalMs'
    | 'instanceTtlMs'
    | 'cleanupIntervalMs'
    | 'runFailoverIntervalMs'
    | 'stuckRunTimeoutMs'
    | 'shutdownTimeoutMs'
    | 'runConcurrency'
    | 'runPollIntervalMs'
    | 'maxToolIterations'
    | 'toolTimeoutMs'
    | 'maxAgentDepth'
    | 'poolSize'
    | 'migrate'
    | 'prices'
  >
> &
  AgentPGConfig;

/**
 * Every default of the client's config, in one place (the service's environment variables fall back
 * to these too). The intervals of background services are named in the services' own files.
 */
export const CONFIG_DEFAULTS = {
  migrate: true,
  heartbeatIntervalMs: HEARTBEAT_INTERVAL_DEFAULT_MS,
  instanceTtlMs: 120_000,
  cleanupIntervalMs: CLEANUP_INTERVAL_DEFAULT_MS,
  runFailoverIntervalMs: RUN_FAILOVER_INTERVAL_DEFAULT_MS,
  stuckRunTimeoutMs: 60 * 60_000,
  shutdownTimeoutMs: 25_000,
  runConcurrency: 100,
  runPollIntervalMs: RUN_POLL_INTERVAL_MS,
  maxToolIterations: 20,
  toolTimeoutMs: 60_000,
  maxAgentDepth: 5,
  poolSize: POOL_SIZE_DEFAULT_MAX,
} as const satisfies Partial<ResolvedConfig>;

/**
 * Refuses a config whose model calls could only fail: without it, a missing key was noticed at the
 * first run (a 401 per run). Only instances that register agents call the model; one that only
 * enqueues, reads runs or owns long-running agents needs no key. Called after the agents and tools
 * were checked, so a config with a wrong tool name is told about that first.
 */
export function checkAnthropicCredentials(c: AgentPGConfig): void {
  const a = c.anthropic ?? {};
  if (a.client) {
    const own = (['apiKey', 'baseURL', 'maxRetries', 'timeoutMs'] as const).filter((k) => a[k] !== undefined);
    if (own.length > 0) {
      throw new ConfigError(
        `invalid config: anthropic.client is used as is; set ${own.join(', ')} on that client instead of next to it`,
      );
    }
    return;
  }
  if ((c.agents?.length ?? 0) === 0) return;
  if (a.apiKey || process.env.ANTHROPIC_API_KEY) return;
  throw new ConfigError(
    'invalid config: no Anthropic API key: set anthropic.apiKey or ANTHROPIC_API_KEY, or pass anthropic.client (this instance registers agents, so it calls the model)',
  );
}

/** Validates the user's config and fills in defaults; a bad field is a ConfigError naming it. */
export function resolveConfig(input: AgentPGConfig): ResolvedConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid config: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = { ...input };
  validateOwnershipConfig(c.ownership, c.longRunning);
  const d = CONFIG_DEFAULTS;
  const resolved: ResolvedConfig = {
    ...c,
    migrate: c.migrate ?? d.migrate,
    heartbeatIntervalMs: c.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
    instanceTtlMs: c.instanceTtlMs ?? d.instanceTtlMs,
    cleanupIntervalMs: c.cleanupIntervalMs ?? d.cleanupIntervalMs,
    runFailoverIntervalMs: c.runFailoverIntervalMs ?? d.runFailoverIntervalMs,
    stuckRunTimeoutMs: c.stuckRunTimeoutMs ?? d.stuckRunTimeoutMs,
    shutdownTimeoutMs: c.shutdownTimeoutMs ?? d.shutdownTimeoutMs,
    runConcurrency: c.runConcurrency ?? d.runConcurrency,
    runPollIntervalMs: c.runPollIntervalMs ?? d.runPollIntervalMs,
    maxToolIterations: c.maxToolIterations ?? d.maxToolIterations,
    toolTimeoutMs: c.toolTimeoutMs ?? d.toolTimeoutMs,
    maxAgentDepth: c.maxAgentDepth ?? d.maxAgentDepth,
    poolSize: c.poolSize ?? defaultPoolSize(c.runConcurrency ?? d.runConcurrency),
    prices: { ...DEFAULT_PRICES, ...c.prices },
  };
  // [costs] A USD budget needs the price of every model it counts.
  const usdBudget =
    resolved.budgets?.perRun?.maxUsd !== undefined ||
    resolved.budgets?.perTenant?.maxUsd !== undefined ||
    Object.values(resolved.budgets?.tenants ?? {}).some((b) => b.maxUsd !== undefined);
  for (const agent of c.agents ?? []) {
    if (!usdBudget && (agent?.budget as { maxUsd?: unknown } | undefined)?.maxUsd === undefined) continue;
    if (agent?.model && !priceOf(agent.model, resolved.prices))
      throw new ConfigError(
        `invalid config: a USD budget is set but model "${agent.model}" (agent "${agent.name}") has no price: add it to prices`,
      );
  }
  if (resolved.heartbeatIntervalMs >= resolved.instanceTtlMs) {
    throw new ConfigError('invalid config: heartbeatIntervalMs must be shorter than instanceTtlMs');
  }
  return resolved;
}
