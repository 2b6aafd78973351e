/**
 * `npm run bench [-- --quick] [--only a,b] [--database-url URL] [--out FILE] [--soak-rows N]`
 *
 * Measures agentpg against its baselines in one run and writes bench/results/latest.json (plus
 * latest.md, the table as Markdown). Every metric runs in a fresh database of its own; the
 * default server is an embedded PostgreSQL the benchmark starts with default settings and deletes
 * afterwards (clean WAL, nothing else on it). A metric that fails is reported as null with the
 * reason; the command itself exits 0 whatever the numbers (benchmarks never fail CI on a number),
 * and non-zero only when the harness itself could not run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child, killAllChildren, onShutdown } from './lib/child.js';
import {
  BENCH_DIR,
  WORKER_SOURCES,
  useWorkerScripts,
  workerScript,
  type BenchContext,
  type MetricResult,
} from './lib/context.js';
import { OPT_IN, parseArgs, type MetricName } from './lib/args.js';
import { bundleWorkers } from './lib/bundle.js';
import { measureCommitLatency } from './lib/commitLatency.js';
import {
  createBenchDatabase,
  externalServer,
  startOwnServer,
  type BenchDatabase,
  type BenchServer,
} from './lib/database.js';
import { comparisonLines, formatMarkdown, formatTable, tableRows, type BenchResults } from './lib/report.js';
import { measureBatchMode } from './metrics/batchMode.js';
import { measureCacheReadShare } from './metrics/cacheReadShare.js';
import { measureRateLimited } from './metrics/rateLimited.js';
import { measureCitus } from './metrics/citus.js';
import { measureChildRunStart } from './metrics/childRunStart.js';
import { measureRunFailover } from './metrics/runFailover.js';
import { measureRouting } from './metrics/routing.js';
import { measureConcurrency } from './metrics/concurrency.js';
import { measureEnqueueInTx } from './metrics/enqueueInTx.js';
import { measureFailover } from './metrics/failover.js';
import { measureEnqueueToStartAcross } from './metrics/enqueueToStart.js';
import { measureEventLatency, startLatencyHelper } from './metrics/latency.js';
import { measureFootprint } from './metrics/footprint.js';
import { measureOwnershipScale, measureRss } from './metrics/ownershipScale.js';
import { measureSessionScaling } from './metrics/sessionScaling.js';
import { measureSoak, soakLines, type SoakValue } from './metrics/soak.js';
import { measureThroughput } from './metrics/throughput.js';
import { measureResumeAfterDecision, measureWaitingRuns } from './metrics/waits.js';

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    load_avg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (msg: string) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  const want = (m: MetricName) => (args.only ? args.only.has(m) : !OPT_IN.includes(m));

  let server: BenchServer;
  if (args.databaseUrl) {
    server = await externalServer(args.databaseUrl);
    log(`server: ${server.host}:${server.port} (external, PostgreSQL ${server.version})`);
  } else {
    log('server: starting an embedded PostgreSQL with default settings');
    server = await startOwnServer();
    log(`server: embedded PostgreSQL ${server.version} on port ${server.port}`);
  }
  const databases: BenchDatabase[] = [];
  // Also run when the harness itself fails (see the end of this file): nothing left behind.
  releaseResources = async () => {
    killAllChildren();
    for (const d of databases.splice(0)) await d.drop().catch(() => {});
    await server.close();
  };
  onShutdown(releaseResources);

  const bundled = await bundleWorkers(WORKER_SOURCES);
  useWorkerScripts(bundled.workers);
  if (bundled.note) log(bundled.note);
  const model = new Child(workerScript('fakeModel'), {
    label: 'fake-model',
    env: { FAKE_LATENCY_MS: '0' },
    keepMessages: false,
  });
  const ready = await model.waitFor((m) => m.type === 'ready', 60_000, 'fake model ready');
  const ctx: BenchContext = { quick: args.quick, server, model, modelUrl: String(ready.url), log };

  if (want('citus')) {
    // Not in the default run, and not in latest.json: its own servers, its own file.
    try {
      const r = await measureCitus(ctx);
      console.log(JSON.stringify(r.value, null, 2));
      for (const n of r.notes ?? []) console.log(`note: citus: ${n}`);
    } catch (err) {
      log(`citus: FAILED — ${(err as Error).message.split('\n')[0]}`);
      if (process.env.BENCH_DEBUG) console.error(err);
    }
    if (args.only!.size === 1) {
      await model.stop().catch(() => {});
      await server.close();
      return;
    }
  }

  const results: BenchResults = {
    runs_throughput: null,
    db_cost_per_run: null,
    concurrency: null,
    enqueue_to_start_ms: null,
    event_latency_ms: null,
    resume_after_decision_ms: null,
    waiting_runs: null,
    enqueue_in_tx_ms: null,
    failover_sigkill_ms: null,
    failover_partition_ms: null,
    ownership_scale: null,
    rss_mb_10k_agents: null,
    cache_read_share: null,
    session_scaling: null,
    child_run_start_ms: null,
    failover_runs_sigkill_ms: null,
    rate_limited: null,
    batch_mode: null,
    routing: null,
    instance_footprint: null,
    meta: {},
    details: {},
  };
  const skipped: Record<string, string> = {};
  const notes: Record<string, string[]> = {};
  const durations: Record<string, number> = {};
  const background: Promise<void>[] = [];
  let soak: SoakValue | null = null;

  const fresh = async () => {
    const db = await createBenchDatabase(server.url);
    databases.push(db);
    return db;
  };
  const release = async (db: BenchDatabase) => {
    await db.drop().catch(() => {});
    databases.splice(databases.indexOf(db), 1);
  };

  /** Runs one metric; a failure is recorded as a reason, never thrown. */
  async function run<T>(name: MetricName, fn: () => Promise<MetricResult<T>>, apply: (v: T) => void): Promise<void> {
    if (!want(name)) {
      skipped[name] = 'not selected (--only)';
      return;
    }
    const t0 = Date.now();
    try {
      const r = await fn();
      apply(r.value);
      if (r.details) results.details[name] = r.details;
      if (r.notes?.length) notes[name] = r.notes;
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      skipped[name] = reason;
      log(`${name}: FAILED — ${reason}`);
      if (process.env.BENCH_DEBUG) console.error(err);
    } finally {
      durations[name] = Math.round((Date.now() - t0) / 100) / 10;
    }
  }

  try {
    // The floor of the latency metrics: one durable commit on this server, before any load.
    {
      const db = await fresh();
      results.details.commit_latency_ms = await measureCommitLatency(db);
      await release(db);
    }
    // Throughput has a database of its own, like every other metric: enqueue_to_start is defined
    // on an idle system, so none of the throughput metric's thousands of rows and jobs are there
    // when it starts. enqueue_to_start, event_latency and concurrency share a fresh one, one after
    // the other (each measures only its own runs); the latency metrics share one helper instance,
    // which then enqueues the concurrency metric's backlog.
    if (want('throughput')) {
      const db = await fresh();
      await run(
        'throughput',
        () => measureThroughput(ctx, db),
        (v) => {
          results.runs_throughput = v.runs_throughput;
          results.db_cost_per_run = v.db_cost_per_run;
        },
      );
      await release(db);
    } else skipped.throughput = 'not selected (--only)';
    const latencyMetrics = ['enqueue_to_start', 'event_latency', 'resume_after_decision'] as const;
    if (latencyMetrics.some(want) || want('concurrency')) {
      const db = await fresh();
      let helper: Child | null = null;
      if (latencyMetrics.some(want)) {
        try {
          helper = await startLatencyHelper(ctx, db);
        } catch (err) {
          log(`latency helper: FAILED — ${(err as Error).message.split('\n')[0]}`);
        }
      }
      if (helper) {
        const h = helper;
        await run(
          'enqueue_to_start',
          () => measureEnqueueToStartAcross(ctx, db, h),
          (v) => (results.enqueue_to_start_ms = v),
        );
        await run(
          'event_latency',
          () => measureEventLatency(ctx, db, h),
          (v) => (results.event_latency_ms = v),
        );
        // Beside enqueue_to_start, on the same helper instance (bench/metrics/waits.ts).
        await run(
          'resume_after_decision',
          () => measureResumeAfterDecision(ctx, db, h),
          (v) => (results.resume_after_decision_ms = v),
        );
      } else {
        for (const m of latencyMetrics) {
          if (want(m)) skipped[m] = 'the helper instance did not start';
        }
      }
      if (want('concurrency')) {
        await run(
          'concurrency',
          () => measureConcurrency(ctx, db, helper),
          (v) => (results.concurrency = v as BenchResults['concurrency']),
        );
      } else {
        await helper?.request({ type: 'stop' }, 30_000).catch(() => helper?.kill());
      }
      await release(db);
    }
    if (want('concurrency')) {
      // The same measurement in a fresh database whose tables autovacuum never visits, with no
      // ANALYZE by anyone but agentpg itself (bench/metrics/concurrency.ts): concurrency.no_autovacuum.
      const db = await fresh();
      const t0 = Date.now();
      try {
        const r = await measureConcurrency(ctx, db, null, { noAutovacuum: true });
        results.concurrency = { ...(results.concurrency ?? NOT_MEASURED_CONCURRENCY), no_autovacuum: r.value };
        if (r.details) results.details.concurrency_no_autovacuum = r.details;
        if (r.notes?.length) notes.concurrency_no_autovacuum = r.notes;
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0];
        skipped.concurrency_no_autovacuum = reason;
        log(`concurrency (autovacuum off): FAILED — ${reason}`);
        if (process.env.BENCH_DEBUG) console.error(err);
      } finally {
        durations.concurrency_no_autovacuum = Math.round((Date.now() - t0) / 100) / 10;
      }
      await release(db);
    }
    if (want('waiting_runs')) {
      const db = await fresh();
      await run(
        'waiting_runs',
        () => measureWaitingRuns(ctx, db),
        (v) => (results.waiting_runs = v),
      );
      await release(db);
    } else skipped.waiting_runs = 'not selected (--only)';
    if (want('enqueue_in_tx')) {
      const db = await fresh();
      await run(
        'enqueue_in_tx',
        () => measureEnqueueInTx(ctx, db),
        (v) => (results.enqueue_in_tx_ms = v),
      );
      await release(db);
    } else skipped.enqueue_in_tx = 'not selected (--only)';
    // Both failover metrics share one cluster; the Redis baseline's ~30 s lock expiries (timed at
    // the kills, compared with the partition) finish in the background while the remaining metrics run (it only polls Redis once a second).
    if (want('failover_sigkill') || want('failover_partition')) {
      const db = await fresh();
      let failover: Awaited<ReturnType<typeof measureFailover>> | null = null;
      const t0 = Date.now();
      try {
        failover = await measureFailover(ctx, db, {
          sigkill: want('failover_sigkill'),
          partition: want('failover_partition'),
        });
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0];
        log(`failover: FAILED — ${reason}`);
        if (want('failover_sigkill')) skipped.failover_sigkill = reason;
        if (want('failover_partition')) skipped.failover_partition = reason;
      }
      durations.failover = Math.round((Date.now() - t0) / 100) / 10;
      if (!want('failover_sigkill')) skipped.failover_sigkill = 'not selected (--only)';
      if (!want('failover_partition')) skipped.failover_partition = 'not selected (--only)';
      for (const [name, r] of [
        ['failover_sigkill', failover?.sigkill],
        ['failover_partition', failover?.partition],
      ] as const) {
        if (!r) continue;
        if (r.details) results.details[name] = r.details;
        if (r.notes?.length) notes[name] = r.notes;
      }
      if (failover?.sigkill) results.failover_sigkill_ms = failover.sigkill.value;
      if (failover?.partition) results.failover_partition_ms = failover.partition.value;
      if (failover?.sigkill) {
        // Timed at the kills, compared with the partition: for a TTL lock a killed owner and a
        // lost one are the same event (bench/metrics/failover.ts). Without a partition metric in
        // this run the samples stay in details only.
        const partition = failover.partition?.value ?? null;
        background.push(
          failover.redisBaseline.then((b) => {
            if (partition) partition.redis_ttl_baseline_p50 = b.p50;
            (results.details.failover_sigkill as Record<string, unknown>).redis_lost_owner_samples_ms = b.samples;
            if (b.note) (notes.failover_partition ??= []).push(b.note);
          }),
        );
      }
      await release(db);
    }
    for (const [name, fn, apply] of [
      ['rss', measureRss, (v: never) => (results.rss_mb_10k_agents = v)],
      ['ownership_scale', measureOwnershipScale, (v: never) => (results.ownership_scale = v)],
      ['cache_read_share', measureCacheReadShare, (v: never) => (results.cache_read_share = v)],
      ['session_scaling', measureSessionScaling, (v: never) => (results.session_scaling = v)],
      ['child_run_start', measureChildRunStart, (v: never) => (results.child_run_start_ms = v)],
      ['failover_runs_sigkill', measureRunFailover, (v: never) => (results.failover_runs_sigkill_ms = v)],
      ['rate_limited', measureRateLimited, (v: never) => (results.rate_limited = v)],
      ['batch_mode', measureBatchMode, (v: never) => (results.batch_mode = v)],
      ['routing', measureRouting, (v: never) => (results.routing = v)],
      ['instance_footprint', measureFootprint, (v: never) => (results.instance_footprint = v)],
    ] as unknown as Array<
      [MetricName, (c: BenchContext, d: BenchDatabase) => Promise<MetricResult<never>>, (v: never) => void]
    >) {
      if (!want(name)) {
        skipped[name] = 'not selected (--only)';
        continue;
      }
      const db = await fresh();
      await run(name, () => fn(ctx, db), apply);
      await release(db);
    }
    if (want('soak')) {
      const db = await fresh();
      await run(
        'soak',
        () => measureSoak(ctx, db, { rows: args.soakRows, out: path.join(BENCH_DIR, 'results/soak.json') }),
        (v) => (soak = v),
      );
      await release(db);
    } else skipped.soak = args.only ? 'not selected (--only)' : 'opt-in: --only soak';
    if (background.length) {
      log('waiting for the Redis baseline to finish');
      await Promise.all(background);
    }
  } finally {
    await model.stop().catch(() => {});
    for (const d of [...databases]) await release(d);
    await server.close();
  }

  results.meta = {
    date: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    machine: machine(),
    server: {
      kind: server.kind,
      version: server.version,
      settings:
        server.kind === 'embedded'
          ? 'PostgreSQL defaults (max_connections 100, max_locks_per_transaction 64, shared_buffers 128MB)'
          : 'as configured',
    },
    duration_s: Math.round((Date.now() - started) / 1000),
    metric_duration_s: durations,
    skipped,
    notes,
    command: `npm run bench${args.quick ? ' -- --quick' : ''}`,
    workers: bundled.note ?? 'plain node, bundled with esbuild (node_modules external)',
  };
  // `--only soak` alone writes bench/results/soak.json only: latest.json would be all nulls.
  const soakOnly = args.only?.size === 1 && args.only.has('soak') && !args.outGiven;
  const rows = tableRows(results);
  if (!soakOnly) {
    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
    fs.writeFileSync(args.out.replace(/\.json$/, '.md'), formatMarkdown(rows) + '\n');
  }
  console.log('');
  if (!soakOnly) {
    console.log(formatTable(rows));
    console.log('');
  }
  if (soak) for (const l of soakLines(soak)) console.log(l);
  if (!soakOnly) for (const l of comparisonLines(rows)) console.log(`compares: ${l}`);
  console.log('');
  for (const [k, v] of Object.entries(skipped))
    if (v !== 'not selected (--only)') console.log(`not measured: ${k}: ${v}`);
  for (const [k, list] of Object.entries(notes)) for (const n of list) console.log(`note: ${k}: ${n}`);
  console.log(
    `✓ marks compare with the issue's targets and are informative only; ⚠ marks a side that stalled. Written: ${path.relative(process.cwd(), soakOnly ? path.join(BENCH_DIR, 'results/soak.json') : args.out)}`,
  );
}

/** concurrency's own fields when only its autovacuum-off variant was measured. */
const NOT_MEASURED_CONCURRENCY: NonNullable<BenchResults['concurrency']> = {
  in_flight: null,
  model_latency_ms: 0,
  runs_per_s: null,
  efficiency: null,
  db_connections: null,
};

let releaseResources: () => Promise<void> = async () => {};

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    await releaseResources().catch(() => {});
    process.exit(1);
  },
);
