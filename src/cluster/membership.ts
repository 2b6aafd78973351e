import type { Runtime } from '../runtime.js';
import { HeartbeatService } from './heartbeat.js';
import { InstanceRegistry } from './instanceRegistry.js';

/**
 * This instance's membership of the cluster: registration (row + agent/tool links) and the
 * heartbeat that keeps it fresh. start() registers then beats; stop() stops beating, then
 * deregisters (links cascade).
 */
export class ClusterMembership {
  readonly instances: InstanceRegistry;
  readonly heartbeat: HeartbeatService;

  constructor(rt: Runtime, version: string) {
    this.instances = new InstanceRegistry(
      rt.pool,
      { id: rt.instanceId, hostname: rt.hostname, pid: process.pid, version, metadata: rt.config.metadata ?? {} },
      rt.registry,
      rt.logger,
    );
    this.heartbeat = new HeartbeatService(
      rt.pool,
      rt.instanceId,
      this.instances,
      rt.config.heartbeatIntervalMs,
      rt.logger,
      rt.reportError,
    );
  }

  async start(): Promise<void> {
    await this.instances.register();
    this.heartbeat.start();
  }

  async stop(): Promise<void> {
    // The heartbeat first, and waited for: a beat in flight must not re-register the row after it
    // is deleted.
    await this.heartbeat.stop();
    await this.instances.deregister();
  }
}
