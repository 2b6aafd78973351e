import type { Queryable } from '../db/queryable.js';
import { BackgroundService } from '../lifecycle/backgroundService.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';
import type { InstanceRegistry } from './instanceRegistry.js';
import { heartbeatInstance } from './sql/heartbeatInstance.js';

/** config.heartbeatIntervalMs when unset: how often this instance proves it is alive. */
export const HEARTBEAT_INTERVAL_DEFAULT_MS = 30_000;

/**
 * Refreshes agentpg_instances.last_heartbeat_at every heartbeatIntervalMs. A missing row means a
 * survivor's cleanup pass removed this instance while it was silent (partition, pause): it
 * registers again, links included. Failures (database down) go to reportError and the beat goes
 * on (sooner while failing, never later than the interval); the pool opens a fresh connection for
 * the next one. A slow database never stacks beats: one tick at a time.
 */
export class HeartbeatService {
  private readonly loop: BackgroundService;
  /** Database time of the last successful heartbeat (health, tests). */
  lastBeatAt: Date | null = null;
  reRegistrations = 0;

  constructor(
    private readonly pool: Queryable,
    private readonly instanceId: string,
    private readonly instances: InstanceRegistry,
    intervalMs: number,
    private readonly logger: Logger,
    reportError: ReportError,
  ) {
    this.loop = new BackgroundService({ name: 'heartbeat', intervalMs, tick: () => this.beat(), reportError });
  }

  start(): void {
    this.loop.start();
  }

  /** No beat after it; waits for a beat in flight (it must not re-register a row being deleted). */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One heartbeat now (also used by tests). */
  async beat(): Promise<void> {
    const alive = await heartbeatInstance(this.pool, this.instanceId);
    if (!alive) {
      this.logger.warn({}, 'instance row was removed by a cleanup pass (missed heartbeats): registering again');
      await this.instances.register();
      this.reRegistrations++;
    }
    this.lastBeatAt = new Date();
  }
}
