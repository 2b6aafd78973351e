import { withTransaction, type Pool } from '../db/connection.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../model/registry.js';
import { deregisterInstance } from './sql/deregisterInstance.js';
import { registerInstance, type InstanceRow } from './sql/registerInstance.js';
import { upsertDefinitions } from './sql/upsertDefinitions.js';

/**
 * This instance's row in agentpg_instances and its links to the agents and tools it can run
 * (agentpg_instance_agents, agentpg_instance_tools).
 */
export class InstanceRegistry {
  registered = false;
  /** The liveness session's pid the row records (membership.ts sets it before registering). */
  livenessPid: number | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly instance: Omit<InstanceRow, 'livenessPid'>,
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  /**
   * Upserts the agent/tool definitions, then the instance row and its links, in ONE transaction:
   * its COMMIT makes the registration durable, and a crash before it leaves nothing half-linked.
   */
  async register(): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      await upsertDefinitions(tx, this.registry.agents.values(), this.registry.tools.values());
      // Linked: only the agents this instance can run (all their tools here), so the links say
      // where a run can go (agentpg_unroutable_runs).
      await registerInstance(tx, { ...this.instance, livenessPid: this.livenessPid }, this.registry.capableAgents(), [
        ...this.registry.tools.keys(),
      ]);
    });
    this.registered = true;
    this.logger.debug({ hostname: this.instance.hostname, pid: this.instance.pid }, 'instance registered');
  }

  /** Deletes the row; links cascade. Durable on its own autocommit. */
  async deregister(): Promise<void> {
    this.registered = false;
    await deregisterInstance(this.pool, this.instance.id);
    this.logger.debug({}, 'instance deregistered');
  }
}
