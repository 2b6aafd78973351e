import { shortPassQueue, SingletonPassService } from '../lifecycle/singletonPasses.js';
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
export class BatchPollService extends SingletonPassService<BatchPassSummary> {
  constructor(private readonly rt: Runtime) {
    super(rt, {
      name: 'batch poll',
      queue: BATCH_POLL_QUEUE,
      singletonKey: BATCH_POLL_SINGLETON_KEY,
      intervalMs: resolveBatchSettings(rt.config.batch).pollIntervalMs,
      queueOptions: shortPassQueue(300),
    });
  }

  protected pass(): Promise<BatchPassSummary> {
    return runBatchPass(this.rt);
  }
}
