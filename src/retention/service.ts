import type { PgBoss } from 'pg-boss';
import type { Pool } from '../db/connection.js';
import { SingletonPassService } from '../lifecycle/singletonPasses.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';
import type { BatchHooks } from './batch.js';
import { runRetentionPass, type RetentionPassSummary } from './pass.js';
import type { RetentionSettings } from './settings.js';

/** The pg-boss queue that carries retention passes. */
export const RETENTION_QUEUE = 'agentpg_retention';
const RETENTION_SINGLETON_KEY = 'retention';
/** pg-boss's minimum: a pass whose runner died is failed this long after its last heartbeat. */
const PASS_HEARTBEAT_SECONDS = 10;

export interface RetentionServiceOptions {
  instanceId: string;
  boss: PgBoss;
  pool: Pool;
  logger: Logger;
  reportError: ReportError;
  settings: RetentionSettings;
  onRetentionPass?(summary: RetentionPassSummary): void;
  /** @internal crash tests */
  hooks?: BatchHooks;
}

/**
 * Retention passes as pg-boss jobs, the way cleanup passes are (src/cluster/cleanup.ts): every
 * instance offers one per slot of `intervalMs` with sendThrottled, pg-boss admits one job per slot
 * whatever the number of instances, and one worker fetches it. The queue's `singleton` policy
 * also keeps a second pass from starting while one is still active (a long first pass over a
 * backlog outlasts its slot); its job heartbeat frees the queue 10 s after a runner died, and the
 * next slot's pass goes on from where that one stopped (each batch committed on its own).
 */
export class RetentionService extends SingletonPassService<RetentionPassSummary> {
  constructor(private readonly o: RetentionServiceOptions) {
    super(o, {
      name: 'retention',
      queue: RETENTION_QUEUE,
      singletonKey: RETENTION_SINGLETON_KEY,
      intervalMs: o.settings.intervalMs,
      hook: { name: 'onRetentionPass', call: (summary) => o.onRetentionPass?.(summary) },
      // A failed pass is superseded by the next slot's, which starts over anyway.
      queueOptions: () => ({
        policy: 'singleton',
        heartbeatSeconds: PASS_HEARTBEAT_SECONDS,
        expireInSeconds: 24 * 3600,
      }),
    });
  }

  /** One pass (pg-boss's job, or client.runRetentionPass()); stop() stops one in progress after its current batch. */
  protected async pass(jobId: string | null): Promise<RetentionPassSummary> {
    const summary = await runRetentionPass({
      pool: this.o.pool,
      instanceId: this.o.instanceId,
      jobId,
      settings: this.o.settings,
      // A pass run by hand is not interrupted by the offers' state.
      shouldStop: jobId === null ? undefined : () => !this.passes.isRunning,
      hooks: this.o.hooks,
    });
    if (summary.error) this.o.reportError(new Error(summary.error), 'retention pass');
    if (summary.sessions > 0) this.o.logger.info({ ...summary, batchSizes: undefined }, 'retention pass');
    return summary;
  }
}
