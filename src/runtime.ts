import type Anthropic from '@anthropic-ai/sdk';
import type { PgBoss } from 'pg-boss';
import type { ResolvedConfig } from './config.js';
import type { Pool } from './db/connection.js';
import type { HealthCounters } from './cluster/health.js';
import type { EventListener } from './events/listener.js';
import type { Logger } from './logger.js';
import type { Registry } from './model/registry.js';

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
  boss: PgBoss;
  anthropic: Anthropic;
  registry: Registry;
  /** The one LISTEN connection of this client. */
  events: EventListener;
  logger: Logger;
  /** Background failures go here: logged, then passed to config.onError. Never throws. */
  reportError(err: unknown, context?: string): void;
  /**
   * [cluster] Counters read by client.health(): the runs worker sets `inFlightRuns`, the ownership
   * manager `ownedLongRunningAgents` (functions, read at call time). Unset reads as 0.
   */
  health: HealthCounters;
}
