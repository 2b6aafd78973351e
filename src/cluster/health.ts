import type { Pool } from '../db/connection.js';

/** What `client.health()` returns: cheap enough for a liveness/readiness probe. */
export interface HealthStatus {
  instanceId: string;
  running: boolean;
  /** A `select 1` answered within the probe timeout. */
  databaseReachable: boolean;
  /** Long-running agents this instance owns now (0 until the ownership module reports it). */
  ownedLongRunningAgents: number;
  /** Runs this instance is executing now (0 until the runs module reports it). */
  inFlightRuns: number;
  /** The LISTEN connection is up. */
  eventsConnected: boolean;
  /** This instance holds its liveness lock now (src/cluster/liveness.ts). */
  livenessHeld: boolean;
  /** Runs of dead peers this instance handed back through instant failover (src/cluster/failover.ts), since start. */
  runsHandedBackByFailover: number;
  /**
   * Executions of this instance that ended because their run was taken over, since start: a write
   * refused by the run's claim fence, a job touch refused, or the liveness session lost (a stalled
   * or cut-off worker that came back). None of their late writes was stored.
   */
  runsTakenOver: number;
  /**
   * Writes of this instance's run executions refused by a claim fence since start: each a statement
   * fenced on the run's or the tool call's attempt that matched no row, because a newer execution
   * had taken the run over (the late writes of a stalled or cut-off worker). Each ends its execution.
   */
  runWritesRefused: number;
  /** Retention passes this instance ran since start (src/retention; 0 when retention is off). */
  retentionPassesRun: number;
  /** Run jobs this instance's worker fetched (made active), since start. */
  runsFetched: number;
  /**
   * Of those, jobs of agents this instance cannot run (the agent or one of its tools missing),
   * handed back at once. Capability routing keeps it 0, except for jobs written before routing
   * existed and two agent names sharing a route key (src/runs/routing.ts).
   */
  foreignRunsFetched: number;
}

/**
 * Counters other modules report into health: the runs worker sets `inFlightRuns`, the ownership
 * manager `ownedLongRunningAgents` (as functions on Runtime.health, read at call time).
 */
export interface HealthCounters {
  inFlightRuns?: () => number;
  ownedLongRunningAgents?: () => number;
  runsHandedBackByFailover?: () => number;
  runsTakenOver?: () => number;
  runWritesRefused?: () => number;
  retentionPassesRun?: () => number;
  runsFetched?: () => number;
  foreignRunsFetched?: () => number;
}

/** True when the database answers `select 1` within timeoutMs. Never throws. */
export async function probeDatabase(pool: Pool, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      pool.query('select 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function readCounter(fn: (() => number) | undefined): number {
  try {
    return fn ? fn() : 0;
  } catch {
    return 0;
  }
}
