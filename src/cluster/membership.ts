import { resolveOwnershipOptions } from '../ownership/options.js';
import type { Runtime } from '../runtime.js';
import { HeartbeatService } from './heartbeat.js';
import { InstanceRegistry } from './instanceRegistry.js';
import { LivenessSession } from './liveness.js';

/**
 * This instance's membership of the cluster: its liveness session (the lock other instances read
 * to see it alive, liveness.ts), registration (row + agent/tool links) and the heartbeat that keeps
 * the row fresh. start() takes the liveness lock, then registers (the row names the lock's pid, so
 * no survivor can see a row without its lock), then beats; stop() stops beating, deregisters (links
 * cascade), and only then ends the liveness session.
 */
export class ClusterMembership {
  readonly instances: InstanceRegistry;
  readonly heartbeat: HeartbeatService;
  readonly liveness: LivenessSession;

  constructor(rt: Runtime, version: string) {
    this.instances = new InstanceRegistry(
      rt.pool,
      { id: rt.instanceId, hostname: rt.hostname, pid: process.pid, version, metadata: rt.config.metadata ?? {} },
      rt.registry,
      rt.logger,
    );
    this.heartbeat = new HeartbeatService(
      rt.background,
      rt.instanceId,
      this.instances,
      rt.config.heartbeatIntervalMs,
      rt.logger,
      rt.reportError,
    );
    this.liveness = new LivenessSession({
      connectionString: rt.config.databaseUrl,
      instanceId: rt.instanceId,
      // The same leases as long-running ownership: one model of "silent for too long".
      leases: resolveOwnershipOptions(rt.config.ownership),
      logger: rt.logger,
      reportError: rt.reportError,
      // Survivors may be handing this instance's runs back right now: stop them here (their tools
      // see the abort; every later write of ours is refused by the run's claim fence anyway).
      onLost: () => rt.runs.localWorker?.giveUpAll(),
      onRenewed: async (pid) => {
        this.instances.livenessPid = pid;
        if (this.instances.registered) await this.instances.register();
      },
    });
  }

  async start(): Promise<void> {
    this.instances.livenessPid = await this.liveness.open();
    try {
      await this.instances.register();
    } catch (err) {
      await this.liveness.close();
      throw err;
    }
    this.heartbeat.start();
  }

  async stop(): Promise<void> {
    // The heartbeat first, and waited for: a beat in flight must not re-register the row after it
    // is deleted.
    await this.heartbeat.stop();
    await this.instances.deregister();
    await this.liveness.close();
  }
}
