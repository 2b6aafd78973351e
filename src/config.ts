import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { AgentDefinition } from './model/agent.js';
import type { ToolDefinition } from './model/tool.js';
import type { LongRunningKind, OwnershipOptions } from './ownership/types.js';
import { validateOwnershipConfig } from './ownership/validate.js';
import type { Logger } from './logger.js';
import type { CleanupPassSummary } from './cluster/cleanup.js';
import type { RunStepHook } from './runs/steps.js';

/** What a user passes to `new AgentPG(...)`. Durations are milliseconds. */
export interface AgentPGConfig {
  /** postgres://... Direct or session-pooled connections only (LISTEN/NOTIFY and advisory locks). */
  databaseUrl: string;
  anthropic?: {
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
  /** Kinds of long-running agent this instance can own (seed 004). */
  longRunning?: LongRunningKind[];
  /** Tuning of long-running agent ownership: shards, lock budget, leases (src/ownership/options.ts). */
  ownership?: OwnershipOptions;
  /** Default: a random UUID. */
  instanceId?: string;
  /** Default: os.hostname(). */
  hostname?: string;
  metadata?: Record<string, unknown>;
  /** Apply migrations on start(). Default true. */
  migrate?: boolean;
  /** Seed 000: 30 s. */
  heartbeatIntervalMs?: number;
  /** Seed 000: an instance silent for 2 min is stale. */
  instanceTtlMs?: number;
  /** Seed 000: 1 min. */
  cleanupIntervalMs?: number;
  /** Seed 000: a run `running` for longer than this is failed with "run timed out". 1 h. */
  stuckRunTimeoutMs?: number;
  /** Seed 004: how long stop() lets in-flight work finish. 25 s. */
  shutdownTimeoutMs?: number;
  /** How many runs this instance executes at once. Default 100. */
  runConcurrency?: number;
  /** Runs of one tenant in flight across all instances. Default: unlimited. */
  tenantConcurrency?: number;
  /** Bound on model turns per run. Default 20. */
  maxToolIterations?: number;
  /** Per tool call. Default 60 s. */
  toolTimeoutMs?: number;
  /** Database connections agentpg's own pool may hold. Default 10. */
  poolSize?: number;
  /** Background failures (heartbeat, cleanup, reconnects) are reported here and never thrown. */
  onError?: (err: Error) => void;
  /**
   * [cluster] Called after each cleanup pass this instance ran. There is no leader (cleanup passes
   * are pg-boss singleton jobs), so the seed's onBecameLeader/onLostLeadership have no equivalent.
   */
  onCleanupPass?: (summary: CleanupPassSummary) => void;
  /** [cluster] Attempts to reach the database in start() before a DatabaseUnavailableError. Default 5. */
  connectAttempts?: number;
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
      apiKey: z.string().optional(),
      baseURL: z.string().url().optional(),
      maxRetries: z.number().int().min(0).optional(),
      timeoutMs: durationMs.optional(),
    })
    .optional(),
  agents: z.array(z.any()).optional(),
  tools: z.array(z.any()).optional(),
  longRunning: z.array(z.any()).optional(),
  ownership: z.any().optional(),
  instanceId: z.string().min(1).max(255).optional(),
  hostname: z.string().max(255).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  migrate: z.boolean().optional(),
  heartbeatIntervalMs: durationMs.optional(),
  instanceTtlMs: durationMs.optional(),
  cleanupIntervalMs: durationMs.optional(),
  stuckRunTimeoutMs: durationMs.optional(),
  shutdownTimeoutMs: durationMs.optional(),
  runConcurrency: z.number().int().positive().optional(),
  tenantConcurrency: z.number().int().positive().optional(),
  maxToolIterations: z.number().int().positive().optional(),
  toolTimeoutMs: durationMs.optional(),
  poolSize: z.number().int().min(2).optional(),
  onError: z.function().optional(),
  onCleanupPass: z.function().optional(),
  onRunStep: z.function().optional(),
  connectAttempts: z.number().int().positive().optional(),
  logger: z.any().optional(),
});

export type ResolvedConfig = Required<
  Pick<
    AgentPGConfig,
    | 'databaseUrl'
    | 'heartbeatIntervalMs'
    | 'instanceTtlMs'
    | 'cleanupIntervalMs'
    | 'stuckRunTimeoutMs'
    | 'shutdownTimeoutMs'
    | 'runConcurrency'
    | 'maxToolIterations'
    | 'toolTimeoutMs'
    | 'poolSize'
    | 'migrate'
  >
> &
  AgentPGConfig;

/** Validates the user's config and fills in defaults; a bad field is a ConfigError naming it. */
export function resolveConfig(input: AgentPGConfig): ResolvedConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid config: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = { ...input };
  validateOwnershipConfig(c.ownership, c.longRunning);
  if ((c.heartbeatIntervalMs ?? 30_000) >= (c.instanceTtlMs ?? 120_000)) {
    throw new ConfigError('invalid config: heartbeatIntervalMs must be shorter than instanceTtlMs');
  }
  return {
    ...c,
    migrate: c.migrate ?? true,
    heartbeatIntervalMs: c.heartbeatIntervalMs ?? 30_000,
    instanceTtlMs: c.instanceTtlMs ?? 120_000,
    cleanupIntervalMs: c.cleanupIntervalMs ?? 60_000,
    stuckRunTimeoutMs: c.stuckRunTimeoutMs ?? 60 * 60_000,
    shutdownTimeoutMs: c.shutdownTimeoutMs ?? 25_000,
    runConcurrency: c.runConcurrency ?? 100,
    maxToolIterations: c.maxToolIterations ?? 20,
    toolTimeoutMs: c.toolTimeoutMs ?? 60_000,
    poolSize: c.poolSize ?? 10,
  };
}
