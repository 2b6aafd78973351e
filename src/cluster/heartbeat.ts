import type { Pool } from '../db/connection.js';
import type { Logger } from '../logger.js';
import type { InstanceRegistry } from './instanceRegistry.js';
import { heartbeatInstance } from './sql/heartbeatInstance.js';

/**
 * Refreshes agentpg_instances.last_heartbeat_at every heartbeatIntervalMs (seed 000 "Heartbeat
 * Service"). A missing row means a survivor's cleanup pass removed this instance while it was
 * silent (partition, pause): it registers again, links included. Failures (database down) go to
 * onError and the beat goes on; the pool opens a fresh connection for the next one.
 */
export class HeartbeatService {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  /** Database time of the last successful heartbeat (health, tests). */
  lastBeatAt: Date | null = null;
  reRegistrations = 0;

  constructor(
    private readonly pool: Pool,
    private readonly instanceId: string,
    private readonly instances: InstanceRegistry,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly reportError: (err: unknown, context?: string) => void,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight?.catch(() => {});
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

  private schedule(): void {
    if (!this.running) return;
    // setTimeout chained after each beat, not setInterval: a slow database never stacks beats.
    this.timer = setTimeout(() => {
      this.inFlight = this.beat()
        .catch((err) => this.reportError(err, 'heartbeat'))
        .finally(() => {
          this.inFlight = null;
          this.schedule();
        });
    }, this.intervalMs);
  }
}
