import type { PgBoss } from 'pg-boss';
import { shortPassQueue, SingletonPassService } from '../lifecycle/singletonPasses.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';
import { defaultRunHandBack, type RunHandBack } from './handBackRuns.js';
import { releaseDeadInstances } from './releaseDeadInstances.js';
import { beginCleanupPass, finishCleanupPass, pruneCleanupPasses, type CleanupCounts } from './sql/cleanupPasses.js';
import type { CleanupPassSummary } from './cleanupSummary.js';
import { deleteStaleInstances } from './sql/deleteStaleInstances.js';
import { findJobs } from './sql/findJobs.js';
import type { Queryable } from '../db/queryable.js';
import { failStuckRuns, listUnroutableAgents } from '../runs/index.js';

/** config.cleanupIntervalMs when unset: one cleanup pass per minute across the cluster. */
export const CLEANUP_INTERVAL_DEFAULT_MS = 60_000;
/** The pg-boss queue that carries cleanup passes. */
export const CLEANUP_QUEUE = 'agentpg_cleanup';
const CLEANUP_SINGLETON_KEY = 'cleanup';
/** Pass log retention. */
const PASS_RETENTION_MS = 24 * 60 * 60_000;

export interface CleanupOptions {
  instanceId: string;
  boss: PgBoss;
  pool: Queryable;
  logger: Logger;
  reportError: ReportError;
  cleanupIntervalMs: number;
  instanceTtlMs: number;
  stuckRunTimeoutMs: number;
  /** Replaces the default hand-back of dead instances' runs (the runs module may own this). */
  handBackRuns?: RunHandBack;
  onCleanupPass?(summary: CleanupPassSummary): void;
}

/**
 * Cleanup as pg-boss singleton jobs (src/lifecycle/singletonPasses.ts), so the cluster needs no
 * leader to clean up: exactly one instance runs each pass of `cleanupIntervalMs` (rounded up to
 * whole seconds); when it dies, the next slot's pass goes to a survivor.
 *
 * There is no leader, so there is no leadership change to report:
 * onCleanupPass(summary) is called after each pass this instance ran; failures go to onError.
 */
export class CleanupService extends SingletonPassService<CleanupPassSummary> {
  private readonly handBack: RunHandBack;
  /** Agents already warned about as unroutable (warnUnroutable); forgotten once routable again. */
  private readonly warnedUnroutable = new Set<string>();

  constructor(private readonly o: CleanupOptions) {
    super(o, {
      name: 'cleanup',
      queue: CLEANUP_QUEUE,
      singletonKey: CLEANUP_SINGLETON_KEY,
      intervalMs: o.cleanupIntervalMs,
      hook: { name: 'onCleanupPass', call: (summary) => o.onCleanupPass?.(summary) },
      queueOptions: shortPassQueue(60),
    });
    this.handBack = o.handBackRuns ?? defaultRunHandBack(o.boss, o.pool, o.logger);
  }

  /**
   * One pass. Each step is its own guarded autocommit statement, so a pass that dies half-way
   * leaves only finished steps behind and the next pass simply does the rest.
   */
  protected async pass(jobId: string | null): Promise<CleanupPassSummary> {
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

      Object.assign(counts, await releaseDeadInstances(db, this.handBack));
      await this.warnUnroutable();
      await pruneCleanupPasses(db, PASS_RETENTION_MS);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.o.reportError(err, 'cleanup pass');
    }
    await finishCleanupPass(db, passId, counts, error).catch((err) =>
      this.o.reportError(err, 'cleanup: recording a pass'),
    );
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
    return summary;
  }

  /**
   * One warning per agent (per process running passes) while it has queued runs no live instance
   * can run: they wait for an instance with the agent and all its tools (capability routing).
   */
  private async warnUnroutable(): Promise<void> {
    const agents = await listUnroutableAgents(this.o.pool);
    const now = new Set(agents.map((a) => a.agent));
    for (const name of this.warnedUnroutable) if (!now.has(name)) this.warnedUnroutable.delete(name);
    for (const a of agents) {
      if (this.warnedUnroutable.has(a.agent)) continue;
      this.warnedUnroutable.add(a.agent);
      this.o.logger.warn(
        { agent: a.agent, queuedRuns: a.runs, oldestCreatedAt: a.oldestCreatedAt },
        `${a.runs} queued run(s) of agent "${a.agent}" wait: no live instance has the agent and all its tools`,
      );
    }
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
