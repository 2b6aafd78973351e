import type Anthropic from '@anthropic-ai/sdk';
import type { PgBoss } from 'pg-boss';
import type { ResolvedConfig } from './config.js';
import type { Pool } from './db/connection.js';
import type { Queryable } from './db/queryable.js';
import type { HealthCounters } from './cluster/health.js';
import type { EventListener } from './events/listener.js';
import type { Logger } from './logger.js';
import type { Registry } from './model/registry.js';
import type { EnqueueBatcher } from './runs/enqueueBatcher.js';
import type { RunWorker } from './runs/worker.js';
import type { ModelRateLimiter } from './ratelimit/limiter.js';

/**
 * What every service of a running client shares. Built once by AgentPG.start() and handed to
 * each service (runs worker, heartbeat, cleanup, event listener, ownership manager).
 */
export interface Runtime {
  config: ResolvedConfig;
  instanceId: string;
  hostname: string;
  /** agentpg's own statement-level pool. Never hold a session-level lock or LISTEN on it. */
  pool: Pool;
  /**
   * The periodic duties' lane of the pool (src/db/poolLane.ts): one statement at a time across
   * failover, heartbeat, the ownership sweep, cleanup passes and pg-boss's own statements.
   * Statements only, never a transaction.
   */
  background: Queryable;
  boss: PgBoss;
  anthropic: Anthropic;
  registry: Registry;
  /** The one LISTEN connection of this client. */
  events: EventListener;
  logger: Logger;
  /**
   * This client's secrets (its Anthropic API key, its database password), scrubbed from every
   * text agentpg stores, logs or sends that it did not write itself: errors.ts scrubSecrets.
   */
  secrets: readonly string[];
  /** Background failures go here: logged, then passed to config.onError. Never throws. */
  reportError: (err: unknown, context?: string) => void;
  /**
   * [cluster] Counters read by client.health(): the runs worker sets `inFlightRuns`, the ownership
   * manager `ownedLongRunningAgents` (functions, read at call time). Unset reads as 0.
   */
  health: HealthCounters;
  /** [runs] Per-client state of the runs module (on the client, never in a module-level map). */
  /** [ratelimit] Cluster-wide rate limiting of model calls; null when `rateLimits.enabled` is false. */
  rateLimiter: ModelRateLimiter | null;
  runs: {
    /** The started worker, so an enqueue committed here wakes it without waiting for its NOTIFY. */
    localWorker: RunWorker | null;
    /** Group commit of this client's enqueues (created at the first enqueue). */
    enqueueBatcher: EnqueueBatcher | null;
  };
}
