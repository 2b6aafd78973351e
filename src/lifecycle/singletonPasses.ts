import type { Job, PgBoss } from 'pg-boss';
import { BackgroundService } from './backgroundService.js';
import type { ReportError } from './reportError.js';

type QueueOptions = NonNullable<Parameters<PgBoss['createQueue']>[1]>;

export interface SingletonPassesOptions {
  /** Names the offering loop in error reports ("cleanup", "retention", "batch poll"). */
  name: string;
  boss: PgBoss;
  queue: string;
  singletonKey: string;
  /** One pass per this much time across the cluster; rounded up to whole seconds (the slot). */
  intervalMs: number;
  /**
   * The queue's policy and expiry; `slotSeconds` is there to derive them from. Every pass queue
   * has retryLimit 0 (a failed pass is superseded by the next slot's) and keeps finished jobs for
   * ten slots, at least an hour.
   */
  queueOptions(slotSeconds: number): QueueOptions;
  reportError: ReportError;
  /** One pass, for the job pg-boss handed this instance. */
  run(jobId: string): Promise<unknown>;
}

/**
 * A maintenance duty that runs once per time slot across the whole cluster, with no leader: the
 * shared lifecycle of the cleanup passes (src/cluster/cleanup.ts), retention passes
 * (src/retention/service.ts) and batch poll passes (src/batch/service.ts).
 *
 * Every instance offers a pass each half slot with `sendThrottled(..., slotSeconds, key)`: pg-boss
 * stamps the job with its time slot (database clock) and a unique index (name, singleton_on,
 * singleton_key) admits one job per slot whatever the number of instances. That one job is fetched
 * by exactly one worker (SKIP LOCKED), so exactly one instance runs each pass; when it dies, the
 * next slot's job goes to a survivor. pg-boss cron is minute-granular, which is why the slots are
 * driven this way.
 */
export class SingletonPasses {
  readonly slotSeconds: number;
  /** Offers a pass every half slot, so every slot is offered at least once even with timer drift. */
  private readonly offers: BackgroundService;
  private workerId: string | null = null;
  private currentPass: Promise<unknown> | null = null;

  constructor(private readonly o: SingletonPassesOptions) {
    this.slotSeconds = Math.max(1, Math.ceil(o.intervalMs / 1000));
    this.offers = new BackgroundService({
      name: `${o.name}: offering a pass`,
      intervalMs: (this.slotSeconds * 1000) / 2,
      tick: () => this.offerPass(),
      reportError: o.reportError,
    });
  }

  /** Between start() and stop(): a pass in progress may look at this to stop early. */
  get isRunning(): boolean {
    return this.offers.isRunning;
  }

  async start(): Promise<void> {
    const { boss, queue } = this.o;
    // createQueue is idempotent (ON CONFLICT DO NOTHING).
    const queueOptions: QueueOptions = {
      retryLimit: 0,
      deleteAfterSeconds: Math.max(3600, this.slotSeconds * 10),
      ...this.o.queueOptions(this.slotSeconds),
    };
    await boss.createQueue(queue, queueOptions);
    this.offers.start();
    const poll = Math.min(2, Math.max(0.5, this.slotSeconds / 2));
    this.workerId = await boss.work(
      queue,
      {
        batchSize: 1,
        pollingIntervalSeconds: poll,
        ...(queueOptions.notify ? { notifyPollingIntervalSeconds: Math.max(poll, 5) } : {}),
      },
      async ([job]: Job[]) => {
        if (!job || !this.offers.isRunning) return;
        const pass = this.o.run(job.id);
        this.currentPass = pass;
        try {
          await pass;
        } finally {
          this.currentPass = null;
        }
      },
    );
    void this.offers.wake();
  }

  /** Stops offering and fetching passes; waits for a pass in progress. */
  async stop(): Promise<void> {
    await this.offers.stop();
    if (this.workerId) await this.o.boss.offWork(this.o.queue, { id: this.workerId, wait: true }).catch(() => {});
    this.workerId = null;
    await this.currentPass?.catch(() => {});
  }

  /** Offers this slot's pass; pg-boss admits one job per slot whatever the number of offers. */
  private async offerPass(): Promise<void> {
    await this.o.boss.sendThrottled(this.o.queue, {}, null, this.slotSeconds, this.o.singletonKey);
  }
}

/**
 * The queue of short passes (cleanup, batch poll): pg-boss's standard policy, woken by NOTIFY, and
 * an expiry that only matters for a runner that died mid-pass (its locks went with it).
 */
export function shortPassQueue(minExpireSeconds: number): (slotSeconds: number) => QueueOptions {
  return (slotSeconds) => ({
    policy: 'standard',
    expireInSeconds: Math.max(minExpireSeconds, slotSeconds * 5),
    notify: true,
  });
}

/** The user's callback after each pass this instance ran (onCleanupPass, onRetentionPass), by its config name. */
export interface PassHook<Summary> {
  name: string;
  call(summary: Summary): void;
}

/**
 * The one lifecycle of a cluster duty run as singleton passes (cleanup, retention, batch poll):
 * start and stop the offers and the worker, count the passes this instance ran, and call the
 * user's per-pass callback without letting it break the pass.
 */
export abstract class SingletonPassService<Summary> {
  protected readonly passes: SingletonPasses;
  /** Passes this instance ran (health, tests), a pass that threw included. */
  passesRun = 0;
  private readonly hook: PassHook<Summary> | undefined;

  constructor(
    private readonly deps: { boss: PgBoss; reportError: ReportError },
    { hook, ...pass }: Omit<SingletonPassesOptions, 'boss' | 'reportError' | 'run'> & { hook?: PassHook<Summary> },
  ) {
    this.hook = hook;
    this.passes = new SingletonPasses({ ...pass, ...deps, run: (jobId) => this.runPass(jobId) });
  }

  start(): Promise<void> {
    return this.passes.start();
  }

  /** Stops offering and running passes; waits for a pass in progress. */
  stop(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass on this instance: pg-boss's job (`jobId`), or by hand (null: operations, tests). */
  async runPass(jobId: string | null = null): Promise<Summary> {
    let summary: Summary;
    try {
      summary = await this.pass(jobId);
    } finally {
      this.passesRun++;
    }
    try {
      this.hook?.call(summary);
    } catch (err) {
      this.deps.reportError(err, this.hook!.name);
    }
    return summary;
  }

  protected abstract pass(jobId: string | null): Promise<Summary>;
}
