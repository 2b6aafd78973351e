/**
 * concurrency: one instance, the fake model answering after 5 s. A backlog of WAVES × C runs
 * (C = runConcurrency: 2,000; 300 quick) is enqueued first by a separate instance with
 * runConcurrency 1 (the latency metrics' helper when it ran), which is stopped before the
 * measured instance starts, so the enqueue rate does not limit it and its CPU is not measured.
 * No ANALYZE by the harness: agentpg analyzes the runs queue's job table when it creates it
 * (src/runs/queue.ts), without which pg-boss's key_strict_fifo fetch over a fresh backlog was a
 * nested loop over every queued job (8-11 s per fetch of 50 with 12,000 queued).
 *
 * - in_flight: the peak number of model requests open at the fake model at once (sampled every
 *   10 ms in the model process) while the measured instance ran.
 * - runs_per_s: steady state, from the runs' own timestamps (bench/lib/steadyState.ts): runs
 *   finalized between the C-th claim (ramp-up done: every slot was filled once) and the last claim
 *   (backlog empty: after it in-flight only drains), over that window. It spans WAVES − 1 whole
 *   cycles, so neither the ramp-up, the drain, the enqueue phase nor the window's phase weigh on
 *   it. Empty slots and slow finalizes inside it are the instance's own cost and do count.
 * - efficiency: runs_per_s ÷ (in_flight / latency_s); 1.0 = every slot busy with a model call
 *   all the time. details: slots occupied on average, claim → finalize time, CPU of each process.
 * - no_autovacuum (options.noAutovacuum, main.ts runs it second, in a fresh database): the same
 *   measurement with autovacuum disabled on every table of the database once the queue exists
 *   (bench/lib/noAutovacuum.ts), and still no ANALYZE by the harness: issue 13's "throughput
 *   depends on fresh statistics". details add what the planner knew with the backlog queued
 *   (reltuples against live rows, analyze counts of agentpg_runs and the job tables).
 * - details.fetch_plan: EXPLAIN (ANALYZE, BUFFERS) of one fetch of 50 over the backlog, taken
 *   before the measured instance starts and rolled back (bench/lib/fetchPlan.ts).
 * - db_connections: peak count of client backends on the bench database other than the harness's
 *   own (pool `agentpg:<id>`, which pg-boss runs on too, `agentpg-listener`, the lock session).
 */
import { Child, wallClock } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { cpuSeconds, parentPid, serverCpuSeconds } from '../lib/cpu.js';
import { HARNESS_APP, type BenchDatabase } from '../lib/database.js';
import { explainRunFetch } from '../lib/fetchPlan.js';
import { CountingClient } from '../lib/poll.js';
import { disableAutovacuum, runTableStatistics } from '../lib/noAutovacuum.js';
import { round } from '../lib/stats.js';
import { steadyWindow } from '../lib/steadyState.js';

export interface ConcurrencyValue {
  in_flight: number | null;
  model_latency_ms: number;
  runs_per_s: number | null;
  efficiency: number | null;
  db_connections: number | null;
}

const LATENCY_MS = 5000;
/** Backlog in units of runConcurrency: one ramp-up, WAVES − 1 measured cycles. */
const WAVES = 4;

interface CpuSample {
  t: number;
  instance: number | null;
  model: number | null;
  postgres: number | null;
}

export async function measureConcurrency(
  ctx: BenchContext,
  db: BenchDatabase,
  helper: Child | null,
  options: { noAutovacuum?: boolean } = {},
): Promise<MetricResult<ConcurrencyValue>> {
  const target = ctx.quick ? 300 : 2000;
  const n = target * WAVES;
  await ctx.model.request({ type: 'configure', latencyMs: LATENCY_MS });
  try {
    ctx.log(
      `concurrency${options.noAutovacuum ? ' (autovacuum off)' : ''}: enqueueing ${n} runs (model latency ${LATENCY_MS} ms)`,
    );
    const enqueuer =
      helper ??
      new Child(workerScript('instance'), {
        label: 'enqueuer',
        env: {
          BENCH_WORKER: JSON.stringify({
            databaseUrl: db.url,
            instanceId: 'bench-enqueuer',
            modelUrl: ctx.modelUrl,
            agents: true,
            runConcurrency: 1,
            cluster: { shutdownTimeoutMs: 1000 },
          }),
        },
      });
    if (!helper) await enqueuer.waitFor((m) => m.type === 'ready', 60_000, 'enqueuer ready');
    // After the enqueuer's start created the runs queue (and its job table), before any backlog.
    const noAutovacuumTables = options.noAutovacuum ? await disableAutovacuum(db.pool) : null;
    const label = options.noAutovacuum ? 'concurrency (autovacuum off)' : 'concurrency';
    await enqueuer.request(
      { type: 'enqueueMany', agent: 'bench', count: n, sessions: n, concurrency: 32, prompt: 'Say ok.' },
      600_000,
    );
    await enqueuer.request({ type: 'stop' }, 60_000).catch(() => enqueuer.kill());
    await enqueuer.wait();
    // The plan the instance's first fetch will meet over this backlog (rolled back: nothing moves).
    const fetchPlan = await explainRunFetch(db.url, 'bench').catch((err: Error) => ({
      execution_ms: null,
      plan: [`EXPLAIN failed: ${err.message.split('\n')[0]}`],
    }));
    // What the planner knows about the queue with the backlog in it (never refreshed: autovacuum off).
    const statistics = options.noAutovacuum ? await runTableStatistics(db.pool) : null;

    ctx.log(`${label}: one instance, runConcurrency ${target}`);
    await ctx.model.request({ type: 'resetPeak' });
    const instanceId = 'bench-concurrency';
    const spawnedAt = wallClock();
    const worker = new Child(workerScript('instance'), {
      label: 'agentpg-concurrency',
      env: {
        BENCH_WORKER: JSON.stringify({
          databaseUrl: db.url,
          instanceId,
          modelUrl: ctx.modelUrl,
          agents: true,
          runConcurrency: target,
        }),
      },
    });
    const poll = await new CountingClient(db.url).connect();
    // The server's postmaster (parent of any backend) for its CPU; same machine only.
    const [{ pid: backendPid }] = await poll.query<{ pid: number }>('select pg_backend_pid() as pid');
    const postmaster = parentPid(backendPid);
    const cpu: CpuSample[] = [];
    const cpuTimer = setInterval(() => {
      cpu.push({
        t: wallClock(),
        instance: cpuSeconds(worker.pid),
        model: cpuSeconds(ctx.model.pid),
        postgres: postmaster === null ? null : serverCpuSeconds(postmaster),
      });
    }, 250);
    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [{ n: conns }] = await poll.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
           where datname = current_database() and backend_type = 'client backend' and application_name not like $1`,
          [`${HARNESS_APP}%`],
        );
        peakConnections = Math.max(peakConnections, Number(conns));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await worker.waitFor((m) => m.type === 'ready', 60_000, 'instance ready');
      const mine = await poll.query<{ n: string }>(
        `select count(*) as n from agentpg_runs where agent_name = 'bench' and state in ('queued', 'running')`,
      );
      const backlog = Number(mine[0].n);
      await poll.waitForCount(
        `select count(*) as n from agentpg_runs where instance_id = $1 and state in ('completed', 'failed', 'cancelled')`,
        [instanceId],
        backlog,
        // Autovacuum off: room for the collapse the issue saw (efficiency 0.16, ~6x slower).
        Math.max(options.noAutovacuum ? 300_000 : 120_000, WAVES * LATENCY_MS * 6),
        500,
      );
      sampling = false;
      await sampler;
      clearInterval(cpuTimer);
      // Claims by this instance only: the one run the enqueuer had started (and handed back on
      // stop) keeps its first started_at, from before this instance existed.
      const rows = await poll.query<{ start_ms: number; end_ms: number; state: string }>(
        `select extract(epoch from started_at)::float8 * 1000 as start_ms, extract(epoch from finalized_at)::float8 * 1000 as end_ms, state
         from agentpg_runs where instance_id = $1 and started_at >= to_timestamp($2::float8 / 1000)`,
        [instanceId, spawnedAt],
      );
      const runs = rows.map((r) => ({ start: r.start_ms, end: r.end_ms }));
      const w = steadyWindow(runs, target);
      const stats = (await ctx.model.request({ type: 'stats' })) as unknown as { peakInFlight: number };
      const inFlight = stats.peakInFlight;
      const efficiency = w ? w.runsPerS / (inFlight / (LATENCY_MS / 1000)) : null;
      const first = Math.min(...runs.map((r) => r.start));
      const last = Math.max(...runs.map((r) => r.end));
      return {
        value: {
          in_flight: inFlight,
          model_latency_ms: LATENCY_MS,
          runs_per_s: round(w?.runsPerS, 1),
          efficiency: round(efficiency, 3),
          db_connections: peakConnections,
        },
        details: {
          run_concurrency: target,
          backlog_runs: backlog,
          runs_failed: rows.filter((r) => r.state !== 'completed').length,
          window_s: w ? round((w.to - w.from) / 1000, 2) : null,
          runs_in_window: w?.finalized ?? null,
          mean_slots_occupied: round(w?.meanOccupied, 0),
          mean_claim_to_finalize_ms: round(w?.meanResidenceMs, 0),
          ramp_up_s: w ? round(w.rampMs / 1000, 2) : null,
          drain_s: w ? round(w.tailMs / 1000, 2) : null,
          // The former method, for comparison: all runs over first claim → last finalize.
          whole_span_runs_per_s: round(runs.length / ((last - first) / 1000), 1),
          cpu_cores_in_window: w ? cpuCores(cpu, w.from, w.to) : null,
          ...(options.noAutovacuum ? { autovacuum_disabled_tables: noAutovacuumTables, statistics } : {}),
          fetch_explain_ms: fetchPlan.execution_ms,
          fetch_plan: fetchPlan.plan,
        },
      };
    } finally {
      sampling = false;
      clearInterval(cpuTimer);
      await sampler.catch(() => {});
      await poll.end();
      await worker.request({ type: 'stop' }, 60_000).catch(() => worker.kill());
    }
  } finally {
    await ctx.model.request({ type: 'configure', latencyMs: 0 });
  }
}

/** Average cores each process used between the samples nearest to `from` and `to`. */
function cpuCores(samples: CpuSample[], from: number, to: number): Record<string, number | null> | null {
  const nearest = (t: number) =>
    samples.reduce<CpuSample | null>((b, s) => (!b || Math.abs(s.t - t) < Math.abs(b.t - t) ? s : b), null);
  const a = nearest(from);
  const b = nearest(to);
  if (!a || !b || b.t <= a.t) return null;
  const seconds = (b.t - a.t) / 1000;
  const cores = (x: number | null, y: number | null) => (x === null || y === null ? null : round((y - x) / seconds, 2));
  return {
    instance: cores(a.instance, b.instance),
    model: cores(a.model, b.model),
    postgres: cores(a.postgres, b.postgres),
  };
}
