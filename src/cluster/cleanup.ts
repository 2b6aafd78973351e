import type { Job, PgBoss } from 'pg-boss';
import type { Logger } from '../logger.js';
import { defaultRunHandBack, type RunHandBack } from './handBackRuns.js';
import { beginCleanupPass, finishCleanupPass, pruneCleanupPasses, type CleanupCounts } from './sql/cleanupPasses.js';
import { deleteStaleInstances } from './sql/deleteStaleInstances.js';
import { failStuckRuns } from './sql/failStuckRuns.js';
import { findJobs } from './sql/findJobs.js';
import { findRunsOfDeadInstances } from './sql/findRunsOfDeadInstances.js';
import { freeAgentsOfDeadInstances } from './sql/freeAgentsOfDeadInstances.js';
import type { Queryable } from './sql/queryable.js';

/** The pg-boss queue that carries cleanup passes. */
export const CLEANUP_QUEUE = 'agentpg_cleanup';
const CLEANUP_SINGLETON_KEY = 'cleanup';
/** Pass log retention. */
const PASS_RETENTION_MS = 24 * 60 * 60_000;

/** What one pass did; handed to config.onCleanupPass. */
export interface CleanupPassSummary extends CleanupCounts {
  passId: number;
  instanceId: string;
  jobId: string | null;
  slot: Date | null;
  startedAt: Date;
  durationMs: number;
  staleInstanceIds: string[];
  stuckRunIds: string[];
  error: string | null;
}

export interface CleanupOptions {
  instanceId: string;
  boss: PgBoss;
  pool: Queryable;
  logger: Logger;
  reportError(err: unknown, context?: string): void;
  cleanupIntervalMs: number;
  instanceTtlMs: number;
  stuckRunTimeoutMs: number;
  /** Replaces the default hand-back of dead instances' runs (the runs module may own this). */
  handBackRuns?: RunHandBack;
  onCleanupPass?(summary: CleanupPassSummary): void;
}

/**
 * Cleanup as pg-boss singleton jobs, in place of the seed's leader-only cleanup service.
 *
 * Every instance offers a pass each half-interval with `sendThrottled(..., slotSeconds, 'cleanup')`:
 * pg-boss stamps the job with its time slot (database clock) and a unique index
 * (name, singleton_on, singleton_key) admits one job per slot whatever the number of instances.
 * That one job is fetched by exactly one worker (SKIP LOCKED), so exactly one instance runs each
 * pass; when it dies, the next slot's job goes to a survivor. pg-boss cron is minute-granular, which
 * is why the slots are driven this way; cleanupIntervalMs is rounded up to whole seconds.
 *
 * There is no leader, so the seed's onBecameLeader/onLostLeadership have nothing to report:
 * onCleanupPass(summary) is called after each pass this instance ran; failures go to onError.
 */
export class CleanupService {
  private tickTimer: NodeJS.Timeout | null = null;
  private running = false;
  private workerId: string | null = null;
  private readonly slotSeconds: number;
  private readonly handBack: RunHandBack;
  private currentPass: Promise<unknown> | null = null;
  /** Passes this instance ran (health, tests). */
  passesRun = 0;

  constructor(private readonly o: CleanupOptions) {
    this.slotSeconds = Math.max(1, Math.ceil(o.cleanupIntervalMs / 1000));
    this.handBack = o.handBackRuns ?? defaultRunHandBack(o.boss, o.pool, o.logger);
  }

  async start(): Promise<void> {
    const { boss } = this.o;
    // createQueue is idempotent (ON CONFLICT DO NOTHING). retryLimit 0: a failed pass is simply
    // superseded by the next slot's. The expiry only matters for a runner that died mid-pass.
    await boss.createQueue(CLEANUP_QUEUE, {
      policy: 'standard',
      retryLimit: 0,
      expireInSeconds: Math.max(60, this.slotSeconds * 5),
      deleteAfterSeconds: Math.max(3600, this.slotSeconds * 10),
      notify: true,
    });
    this.running = true;
    const poll = Math.min(2, Math.max(0.5, this.slotSeconds / 2));
    this.workerId = await boss.work(
      CLEANUP_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: poll, notifyPollingIntervalSeconds: Math.max(poll, 5) },
      async ([job]: Job[]) => {
        if (!job || !this.running) return;
        const pass = this.runPass(job.id);
        this.currentPass = pass;
        try {
          await pass;
        } finally {
          this.currentPass = null;
        }
      },
    );
    this.tick();
  }

  /** Stops offering and running passes; waits for a pass in progress (they are short). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (this.workerId) await this.o.boss.offWork(CLEANUP_QUEUE, { id: this.workerId, wait: true }).catch(() => {});
    this.workerId = null;
    await this.currentPass?.catch(() => {});
  }

  private tick(): void {
    if (!this.running) return;
    this.o.boss
      .sendThrottled(CLEANUP_QUEUE, {}, null, this.slotSeconds, CLEANUP_SINGLETON_KEY)
      .catch((err) => this.o.reportError(err, 'cleanup: offering a pass'))
      .finally(() => {
        if (!this.running) return;
        // Half a slot, so every slot is offered at least once even with timer drift.
        this.tickTimer = setTimeout(() => this.tick(), (this.slotSeconds * 1000) / 2);
      });
  }

  /**
   * One pass. Each step is its own guarded autocommit statement, so a pass that dies half-way
   * leaves only finished steps behind and the next pass simply does the rest.
   */
  async runPass(jobId: string | null = null): Promise<CleanupPassSummary> {
    const { pool: db, instanceId, logger } = this.o;
    const started = Date.now();
    const startedAt = new Date(started);
    const { id: passId, slot } = await beginCleanupPass(db, { jobId, instanceId });
    const counts: CleanupCounts = { staleInstances: 0, stuckRuns: 0, releasedRuns: 0, freedAgents: 0 };
    let staleInstanceIds: string[] = [];
    let stuckRunIds: string[] = [];
    let error: string | null = null;
    try {
      staleInstanceIds = await deleteStaleInstances(db, this.o.instanceTtlMs, instanceId);
      counts.staleInstances = staleInstanceIds.length;

      const stuck = await failStuckRuns(db, this.o.stuckRunTimeoutMs);
      stuckRunIds = stuck.map((r) => r.id);
      counts.stuckRuns = stuck.length;
      await this.deleteJobsOf(stuck.map((r) => r.jobId).filter((id): id is string => !!id));

      const dead = await findRunsOfDeadInstances(db);
      if (dead.length > 0) counts.releasedRuns = await this.handBack(dead);

      counts.freedAgents = (await freeAgentsOfDeadInstances(db)).length;
      await pruneCleanupPasses(db, PASS_RETENTION_MS);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.o.reportError(err, 'cleanup pass');
    }
    await finishCleanupPass(db, passId, counts, error).catch((err) => this.o.reportError(err, 'cleanup: recording a pass'));
    this.passesRun++;
    const summary: CleanupPassSummary = {
      passId,
      instanceId,
      jobId,
      slot,
      startedAt,
      durationMs: Date.now() - started,
      staleInstanceIds,
      stuckRunIds,
      ...counts,
      error,
    };
    if (counts.staleInstances || counts.stuckRuns || counts.releasedRuns || counts.freedAgents) {
      logger.info({ ...summary }, 'cleanup pass');
    }
    try {
      this.o.onCleanupPass?.(summary);
    } catch (err) {
      this.o.reportError(err, 'onCleanupPass');
    }
    return summary;
  }

  /**
   * A run that timed out is recorded as failed in agentpg's tables; its pg-boss job is deleted,
   * never failed: a failed job would be retried (re-running a run already finalized) or, under a
   * key_strict_fifo queue, block every later job of its session (NOTES.md).
   */
  private async deleteJobsOf(jobIds: string[]): Promise<void> {
    const jobs = await findJobs(this.o.pool, jobIds);
    const byQueue = new Map<string, string[]>();
    for (const j of jobs) {
      if (j.state === 'completed' || j.state === 'cancelled') continue;
      byQueue.set(j.name, [...(byQueue.get(j.name) ?? []), j.id]);
    }
    for (const [queue, ids] of byQueue) {
      await this.o.boss.deleteJob(queue, ids);
    }
  }
}
