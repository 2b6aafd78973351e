import type { Runtime } from '../runtime.js';
import { RunChannels } from './channels.js';
import { isDistributedTable } from '../db/citus/isDistributedTable.js';
import { ensureRunsQueue } from './queue.js';
import { RunWorker } from './worker.js';

/** The runs module of a started client: notification fan-out and the worker. */
export class RunsService {
  private constructor(
    readonly channels: RunChannels,
    readonly worker: RunWorker,
  ) {}

  /**
   * Creates the runs queue if missing, starts listening for run notifications, then starts the
   * worker. (Agent and tool definitions are upserted by the cluster module's instance registration,
   * which links the instance to them.)
   */
  static async start(rt: Runtime): Promise<RunsService> {
    const jobTable = await ensureRunsQueue(rt.boss, rt.pool);
    // Distributed by Citus: the fetch claims in a second statement (fetchAndClaimRuns.ts). Read
    // at start: an instance started before the tables were distributed must be restarted.
    const distributed = await isDistributedTable(rt.pool, 'agentpg_runs');
    const channels = new RunChannels(rt.events);
    await channels.start();
    const worker = new RunWorker(rt, channels, jobTable, distributed);
    worker.start();
    return new RunsService(channels, worker);
  }

  /** Stops fetching, drains runs in flight for up to `graceMs` (the rest are handed back). */
  async stop(graceMs: number): Promise<void> {
    await this.worker.stop(graceMs);
    await this.channels.stop();
  }
}
