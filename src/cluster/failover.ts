import { BackgroundService } from '../lifecycle/backgroundService.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';
import type { Queryable } from '../db/queryable.js';
import type { RunHandBack } from './handBackRuns.js';
import { LIVENESS_NAMESPACE } from './liveness.js';
import { deleteLostInstances } from './sql/deleteLostInstances.js';
import { findInstancesWithoutLiveness } from './sql/findInstancesWithoutLiveness.js';
import { releaseDeadInstances } from './releaseDeadInstances.js';

/** config.runFailoverIntervalMs when unset: how often an instance looks for dead peers' liveness locks. */
export const RUN_FAILOVER_INTERVAL_DEFAULT_MS = 250;

/**
 * Instant failover of runs. Every instance reads pg_locks every `intervalMs` for peers whose
 * liveness lock (liveness.ts) is gone — their backend ended: the process died, or it was silent
 * past the server lease — and at once, each step its own guarded autocommit statement:
 *  1. deletes those instance rows, fenced on the pid seen (deleteLostInstances);
 *  2. hands their runs back (handBackRuns.ts: the job to `retry`, fenced on the dead worker's job
 *     attempt, made due now; the run detached from the dead id) — a run's later writes by a worker
 *     that comes back are refused by the run's claim fence (`attempts`), since the next claim
 *     bumps it;
 *  3. frees their long-running agents' owner fields (their shard locks went with the process).
 * Several survivors may see the same death: the fences make the second one a no-op. A survivor
 * that dies half-way leaves the rest to the next tick of any instance, or to the cleanup pass.
 * No leader, no timeout: the server's lock table is the signal.
 */
export class RunFailoverService {
  private readonly loop: BackgroundService;
  /** Instances this instance found dead and deleted; runs it handed back (metrics, tests). */
  instancesLost = 0;
  runsHandedBack = 0;

  constructor(
    private readonly o: {
      instanceId: string;
      db: Queryable;
      intervalMs: number;
      handBack: RunHandBack;
      logger: Logger;
      reportError: ReportError;
      /** After runs were handed back: wake this instance's worker so it fetches them now. */
      onHandedBack: () => void;
    },
  ) {
    this.loop = new BackgroundService({
      name: 'run failover',
      intervalMs: o.intervalMs,
      tick: async () => {
        await this.check();
      },
      reportError: o.reportError,
    });
  }

  start(): void {
    if (this.o.intervalMs > 0) this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One look at the lock table (also used by tests). Returns the ids of the instances retired here. */
  async check(): Promise<string[]> {
    const { db, instanceId, logger } = this.o;
    const lost = await findInstancesWithoutLiveness(db, LIVENESS_NAMESPACE, instanceId);
    if (lost.length === 0) return [];
    const deleted = await deleteLostInstances(db, lost);
    // Runs of any dead instance, not only those deleted here: another survivor may have deleted a
    // row and died before handing its runs back.
    const { releasedRuns: handedBack } = await releaseDeadInstances(db, this.o.handBack);
    this.instancesLost += deleted.length;
    this.runsHandedBack += handedBack;
    if (deleted.length > 0 || handedBack > 0) {
      logger.warn(
        { instanceIds: deleted, runsHandedBack: handedBack },
        'instances lost their liveness lock: runs handed back',
      );
    }
    if (handedBack > 0) this.o.onHandedBack();
    return deleted;
  }
}
