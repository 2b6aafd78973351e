/**
 * enqueue_to_start_ms: from the enqueue call to the run `running`, measured in a process other than
 * the enqueuer's, beside graphile-worker and pg-boss doing the same (add_job / send → handler
 * start) in the same run, on the same machine, one at a time on an idle system.
 *
 * agentpg: the enqueuer is an instance process of its own that has the agent `routed` without its
 * tool (bench/workers/instance.ts, routing `no_tool`): it can enqueue the agent's runs and never
 * runs them. The executing instance is the latency helper (runConcurrency 1, routing `capable`).
 * The enqueuer stamps right before enqueue() is called (a new session each, created before, not
 * timed); the helper stamps the run's claim in config.onRunStep (`claimed`: right after the
 * commit that made the run `running`). In between: the enqueue transaction (its commit), the
 * `queued` NOTIFY to the helper, its fetch and claim (one commit). The next run is enqueued once
 * the helper reported the previous one `finalized`.
 *
 * The baselines (bench/workers/startBaseline.ts): a worker process and an enqueuer process per
 * system; the enqueuer stamps right before `addJob` / `send`, the worker at its handler's start;
 * the next job is added once the previous one is completed in the database.
 *
 * Today's in-process figure (enqueue() returned → the `running` event in the enqueuing, executing
 * instance: bench/metrics/latency.ts) is kept in details as in_process_p50/p99.
 */
import { Child } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { sleep, waitUntil, type BenchDatabase } from '../lib/database.js';
import { round, summarize } from '../lib/stats.js';
import type { InstanceWorkerConfig } from '../workers/instance.js';
import type { StartBaselineConfig } from '../workers/startBaseline.js';
import { enqueueToStartSamples, measureEnqueueToStart } from './latency.js';

export interface EnqueueToStartValue {
  p50: number | null;
  p99: number | null;
  /** graphile-worker: add_job → task handler start, another process, this run. */
  graphile_worker_p50?: number | null;
  /** pg-boss: send → work handler start, another process, this run. */
  pgboss_p50?: number | null;
}

/** p50/p99 and the rest of the measured samples (warm-up already dropped), in ms. */
function figures({ lat, enqueueCall }: Samples) {
  const s = summarize(lat);
  return {
    samples: lat.length,
    // The enqueue call's own share (its commit included): the rest is the wake-up, fetch and claim.
    enqueue_call_p50: round(summarize(enqueueCall).p50, 2),
    p50: round(s.p50, 2),
    p90: round(s.p90, 2),
    p99: round(s.p99, 2),
    max: round(s.max, 2),
    mean: round(s.mean, 2),
  };
}

/** agentpg across processes: `enqueuer` enqueues runs of `routed`, `executor` runs them. */
/** Per measured sample: enqueue call → start, and how long the enqueue call itself took. */
interface Samples {
  lat: number[];
  enqueueCall: number[];
}

async function measureAgentpg(ctx: BenchContext, enqueuer: Child, executor: Child): Promise<Samples> {
  const { warmup, measured } = enqueueToStartSamples(ctx.quick);
  const claimedAt = new Map<string, number>();
  const finalized = new Set<string>();
  const off = executor.on((m) => {
    if (m.type !== 'step') return;
    const id = String(m.runId);
    if (m.step === 'claimed' && !claimedAt.has(id)) claimedAt.set(id, Number(m.t));
    if (m.step === 'finalized') finalized.add(id);
  });
  try {
    const out: Samples = { lat: [], enqueueCall: [] };
    for (let i = 0; i < warmup + measured; i++) {
      const r = (await enqueuer.request({ type: 'enqueueOne', agent: 'routed', prompt: 'Say ok.' })) as unknown as {
        runId: string;
        t0: number;
        t: number;
      };
      await waitUntil(async () => finalized.has(r.runId), 30_000, `run ${r.runId} to finish`, 2);
      if (i >= warmup) {
        out.lat.push(claimedAt.get(r.runId)! - r.t0);
        out.enqueueCall.push(r.t - r.t0);
      }
      await sleep(5);
    }
    return out;
  } finally {
    off();
  }
}

/** A baseline system: its worker and enqueuer processes, one job at a time. */
async function measureBaseline(
  ctx: BenchContext,
  db: BenchDatabase,
  system: StartBaselineConfig['system'],
): Promise<Samples> {
  const { warmup, measured } = enqueueToStartSamples(ctx.quick);
  const spawn = (role: StartBaselineConfig['role']) =>
    new Child(workerScript('startBaseline'), {
      label: `${system}-${role}`,
      env: { BENCH_START_BASELINE: JSON.stringify({ databaseUrl: db.url, system, role }) },
      keepMessages: false,
    });
  const worker = spawn('worker');
  let enqueuer: Child | null = null;
  const startedAt = new Map<number, number>();
  const done = new Set<number>();
  const off = worker.on((m) => {
    if (m.type === 'start' && !startedAt.has(Number(m.i))) startedAt.set(Number(m.i), Number(m.t));
    if (m.type === 'done') done.add(Number(m.i));
  });
  try {
    // The worker first: it creates its schema / queue.
    await worker.waitFor((m) => m.type === 'ready', 60_000, `${system} worker ready`);
    enqueuer = spawn('enqueuer');
    await enqueuer.waitFor((m) => m.type === 'ready', 60_000, `${system} enqueuer ready`);
    ctx.log(`enqueue_to_start: ${system}, ${warmup + measured} jobs, one at a time`);
    const out: Samples = { lat: [], enqueueCall: [] };
    for (let i = 0; i < warmup + measured; i++) {
      const { t0, t1 } = (await enqueuer.request({ type: 'enqueue', i })) as unknown as { t0: number; t1: number };
      await waitUntil(async () => startedAt.has(i), 30_000, `${system} job ${i} to start`, 2);
      if (system === 'graphile') await waitUntil(async () => done.has(i), 30_000, `${system} job ${i} done`, 2);
      else await enqueuer.request({ type: 'waitDone' });
      if (i >= warmup) {
        out.lat.push(startedAt.get(i)! - t0);
        out.enqueueCall.push(t1 - t0);
      }
      await sleep(5);
    }
    return out;
  } finally {
    off();
    for (const c of [enqueuer, worker]) await c?.request({ type: 'stop' }, 15_000).catch(() => c.kill());
  }
}

export async function measureEnqueueToStartAcross(
  ctx: BenchContext,
  db: BenchDatabase,
  helper: Child,
): Promise<MetricResult<EnqueueToStartValue>> {
  const inProcess = await measureEnqueueToStart(ctx, db, helper);
  const config: InstanceWorkerConfig = {
    databaseUrl: db.url,
    instanceId: 'bench-enqueuer',
    modelUrl: ctx.modelUrl,
    routing: 'no_tool',
    cluster: { shutdownTimeoutMs: 1000 },
  };
  const enqueuer = new Child(workerScript('instance'), {
    label: config.instanceId,
    env: { BENCH_WORKER: JSON.stringify(config) },
    keepMessages: false,
  });
  const notes: string[] = [];
  let agentpg: Samples;
  try {
    await enqueuer.waitFor((m) => m.type === 'ready', 60_000, 'enqueuer ready');
    ctx.log(
      `enqueue_to_start: agentpg across processes, ${enqueueToStartSamples(ctx.quick).measured} runs after warm-up`,
    );
    agentpg = await measureAgentpg(ctx, enqueuer, helper);
  } finally {
    await enqueuer.request({ type: 'stop' }, 30_000).catch(() => enqueuer.kill());
  }
  const baselines: Record<'graphile' | 'pgboss', ReturnType<typeof figures> | null> = { graphile: null, pgboss: null };
  for (const system of ['graphile', 'pgboss'] as const) {
    try {
      baselines[system] = figures(await measureBaseline(ctx, db, system));
    } catch (err) {
      notes.push(`${system} baseline not measured: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const a = figures(agentpg);
  // A handler that started before its enqueue call was stamped cannot happen across processes on
  // one clock; count them rather than hide them.
  const negative = agentpg.lat.filter((x) => x < 0).length;
  if (negative) notes.push(`${negative} agentpg samples below 0 ms (clock?)`);
  return {
    value: {
      p50: a.p50,
      p99: a.p99,
      graphile_worker_p50: baselines.graphile?.p50 ?? null,
      pgboss_p50: baselines.pgboss?.p50 ?? null,
    },
    details: {
      ...a,
      warmup_discarded: enqueueToStartSamples(ctx.quick).warmup,
      in_process_p50: inProcess.value.p50,
      in_process_p99: inProcess.value.p99,
      in_process: inProcess.details,
      graphile_worker: baselines.graphile,
      pgboss: baselines.pgboss,
    },
    notes,
  };
}
