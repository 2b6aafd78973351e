/**
 * runs_throughput's third side: the physical limit of this machine for this work. The agentpg
 * side's model calls (same count, sessions, calls in flight, request, SDK client, streaming) made
 * by a process of the same kind (bench/workers/limit.ts) against the same fake model process, with
 * no database at all. Its rate is the count over the span from just before the first call to the
 * last call's end, in the process's wall clock (nothing is written anywhere to read it back from).
 */
import { Child } from '../lib/child.js';
import { longestGapMs, type SideRun } from '../lib/comparison.js';
import { workerScript, type BenchContext } from '../lib/context.js';
import { cpuMsPerUnit, type CpuPerUnit, type CpuSnapshot } from '../lib/cpu.js';

export interface LimitSideRun {
  side: SideRun;
  failed: number;
  lastError: string;
  /** Most calls the limit process had in flight (should be the concurrency). */
  peakInFlight: number;
  /** Requests the fake model completed meanwhile (should be the count). */
  modelCalls: number;
  /** CPU ms per call of the limit process (`instance`), the model process and PostgreSQL; null without `cpu`. */
  cpuMsPerCall: CpuPerUnit | null;
}

export async function measureLimitSide(
  ctx: BenchContext,
  o: { count: number; sessions: number; concurrency: number; prompt: string },
  /** Snapshots the CPU of the limit process (its pid given), the model process and PostgreSQL. */
  cpu?: (workerPid: number) => Promise<CpuSnapshot>,
): Promise<LimitSideRun> {
  const worker = new Child(workerScript('limit'), {
    label: 'limit',
    env: { BENCH_LIMIT: JSON.stringify({ modelUrl: ctx.modelUrl }) },
  });
  try {
    await worker.waitFor((m) => m.type === 'ready', 60_000, 'limit process ready');
    const before = (await ctx.model.request({ type: 'stats' })) as unknown as { completed: number };
    const cpuBefore = cpu ? await cpu(worker.pid) : null;
    const r = (await worker.request({ type: 'callMany', ...o }, 600_000)) as unknown as {
      startMs: number;
      finishedMs: number[];
      failed: number;
      lastError: string;
      peakInFlight: number;
    };
    const cpuAfter = cpu ? await cpu(worker.pid) : null;
    const after = (await ctx.model.request({ type: 'stats' })) as unknown as { completed: number };
    const last = r.finishedMs.length ? Math.max(...r.finishedMs) : r.startMs;
    return {
      side: {
        label: 'no-database limit',
        jobs: r.finishedMs.length,
        spanS: (last - r.startMs) / 1000,
        longestGapMs: longestGapMs(r.startMs, r.finishedMs),
      },
      failed: r.failed,
      lastError: r.lastError,
      peakInFlight: r.peakInFlight,
      modelCalls: after.completed - before.completed,
      cpuMsPerCall: cpuBefore && cpuAfter ? cpuMsPerUnit(cpuBefore, cpuAfter, r.finishedMs.length) : null,
    };
  } finally {
    await worker.request({ type: 'stop' }, 10_000).catch(() => worker.kill());
    await worker.wait();
  }
}
