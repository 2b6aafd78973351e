import { SingletonPasses } from '../lifecycle/singletonPasses.js';
import type { Runtime } from '../runtime.js';
import { runBatchPass, type BatchPassSummary } from './pass.js';
import { resolveBatchSettings } from './settings.js';

/** The pg-boss queue that carries poll passes. */
export const BATCH_POLL_QUEUE = 'agentpg_batch_poll';
const BATCH_POLL_SINGLETON_KEY = 'batch_poll';

/**
 * The cluster's ONE batch poller, as pg-boss singleton jobs like the cleanup passes
 * (src/lifecycle/singletonPasses.ts): every instance that runs agents offers a pass each half-slot,
 * pg-boss admits one job per slot, and one worker fetches it. So polling costs one pass per `batch.pollIntervalMs` for the whole cluster, whatever
 * the number of instances and waiting runs, and a pass gathers the pending requests of every
 * waiting run into one batch. No leader; when the instance running passes dies, the next slot's
 * job goes to a survivor. The pass lock (passLock.ts) keeps two passes from overlapping.
 */
export class BatchPollService {
  private readonly passes: SingletonPasses;
  /** Passes this instance ran (tests, health). */
  passesRun = 0;

  constructor(private readonly rt: Runtime) {
    this.passes = new SingletonPasses({
      name: 'batch poll',
      boss: rt.boss,
      queue: BATCH_POLL_QUEUE,
      singletonKey: BATCH_POLL_SINGLETON_KEY,
      intervalMs: resolveBatchSettings(rt.config.batch).pollIntervalMs,
      // retryLimit 0: a failed pass is superseded by the next slot's. The expiry only matters for a
      // runner that died mid-pass (its lock went with it).
      queueOptions: (slotSeconds) => ({
        policy: 'standard',
        retryLimit: 0,
        expireInSeconds: Math.max(300, slotSeconds * 5),
        deleteAfterSeconds: Math.max(3600, slotSeconds * 10),
        notify: true,
      }),
      reportError: rt.reportError,
      run: () => this.runPass(),
    });
  }

  start(): Promise<void> {
    return this.passes.start();
  }

  stop(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass now on this instance (operations, tests, the bench); normally pg-boss schedules them. */
  async runPass(): Promise<BatchPassSummary> {
    try {
      return await runBatchPass(this.rt);
    } finally {
      this.passesRun++;
    }
  }
}
