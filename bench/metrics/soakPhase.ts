/**
 * One phase of the soak metric (bench/metrics/soak.ts): the same measures on whatever the tables
 * hold now, with the background deleter running. Used twice in one run, on near-empty tables and
 * on a year of finished runs, by the same instance process against the same database.
 */
import os from 'node:os';
import { type Child } from '../lib/child.js';
import { type BenchContext } from '../lib/context.js';
import { sleep, waitUntil, type BenchDatabase } from '../lib/database.js';
import { lsnDiff } from '../lib/dbCost.js';
import { longestGapMs, tooShort, stalled } from '../lib/comparison.js';
import { type BackgroundDeleter, type DeleterStats } from '../lib/soakRetention.js';
import { round, summarize } from '../lib/stats.js';
import { SOAK_PROMPT } from '../lib/soakText.js';
import { tableStats, type TableStat } from '../lib/tableStats.js';
import { enableWalInspect, walImagesByRelation, type WalImageRow } from '../lib/walImages.js';
import { measureEnqueueToStart } from './latency.js';

export interface SoakPhase {
  enqueue_to_start_ms: { p50: number | null; p99: number | null; samples: number };
  /** The same, measured just before with the deleter not yet running: table size alone. */
  enqueue_to_start_ms_no_deleter: { p50: number | null; p99: number | null; samples: number };
  runs_per_s: number | null;
  /** Null when the window was too short or stalled (no ratio is printed from it). */
  runs_per_s_check: string | null;
  throughput: { runs: number; completed: number; span_s: number; longest_gap_ms: number };
  /** WAL of the throughput window per run, minus the background deleter's share (see wal_raw). */
  wal_bytes_per_run: number | null;
  wal: {
    /** Everything the server wrote in the window, per run (deleter, autovacuum, pg-boss included). */
    raw_bytes_per_run: number;
    /** Full-page images in the window per run (pg_stat_wal.wal_fpi; server-wide). */
    fpi_per_run: number | null;
    deleter_runs_deleted_in_window: number;
    /** The deleter's WAL per deleted run, from a window where only it wrote. */
    deleter_bytes_per_deleted_run: number | null;
    /** The burst window's full-page images by relation and record type (pg_walinspect; null without it). */
    images_by_relation: WalImageRow[] | null;
    /** The same for the deleter-alone window after it. */
    deleter_images_by_relation: WalImageRow[] | null;
  };
  cleanup_pass_ms: { p50: number | null; max: number | null; samples: number };
  views_ms: Record<string, number | null>;
  /** EXPLAIN (ANALYZE, BUFFERS) of every view query slower than SLOW_VIEW_MS here: why. */
  slow_view_plans: Record<string, string[]>;
  deleter: DeleterStats;
  tables_before: TableStat[];
  tables_after: TableStat[];
  /** 1-minute load average at the phase's start and end: on a shared machine, read it first. */
  load_avg: { start: number; end: number };
}

const CLEANUP_PASSES = 5;
const VIEW_REPEATS = 3;
const DELETER_ALONE_MS = 5000;
const SLOW_VIEW_MS = 50;

/** Operator views as operators query them (the costs views by their key, as `agentpg costs` does). */
function viewQueries(sample: { runId: string | null; sessionId: string | null }): Array<[string, string, unknown[]]> {
  return [
    ['agentpg_waits', 'select * from agentpg_waits', []],
    ['agentpg_pending_approvals', 'select * from agentpg_pending_approvals', []],
    ['agentpg_waiting_on_children', 'select * from agentpg_waiting_on_children', []],
    ['agentpg_stuck_runs', 'select * from agentpg_stuck_runs', []],
    ['agentpg_stale_instances', 'select * from agentpg_stale_instances', []],
    ['agentpg_unroutable_runs', 'select * from agentpg_unroutable_runs', []],
    ['agentpg_long_running_owners', 'select * from agentpg_long_running_owners', []],
    ['agentpg_run_summary (runs per state)', 'select * from agentpg_run_summary', []],
    ['agentpg_run_costs (one run)', 'select * from agentpg_run_costs where run_id = $1', [sample.runId]],
    [
      'agentpg_session_costs (one session)',
      'select * from agentpg_session_costs where session_id = $1',
      [sample.sessionId],
    ],
    ['agentpg_tenant_costs (bench tenant)', `select * from agentpg_tenant_costs where tenant_id = 'bench-tenant'`, []],
    [
      'agentpg_tenant_costs (largest soak tenant)',
      `select * from agentpg_tenant_costs where tenant_id = 'soak-tenant-0'`,
      [],
    ],
  ];
}

async function walNow(db: BenchDatabase): Promise<{ lsn: string; fpi: number | null }> {
  const [r] = await db.query<{ lsn: string; fpi: string | null }>(
    `select pg_current_wal_lsn()::text as lsn,
            (select wal_fpi from pg_stat_wal) as fpi`,
  );
  return { lsn: r.lsn, fpi: r.fpi === null ? null : Number(r.fpi) };
}

export async function measurePhase(
  ctx: BenchContext,
  db: BenchDatabase,
  worker: Child,
  deleter: BackgroundDeleter,
  o: { label: string; throughputRuns: number },
): Promise<SoakPhase> {
  const loadAtStart = os.loadavg()[0];
  const inspect = await enableWalInspect(db);
  const tablesBefore = await tableStats(db);
  // enqueue → start, one run at a time (as the default run's enqueue_to_start metric): first on
  // the tables alone, then (the figure the ratios use) while the deleter works.
  const quiet = await measureEnqueueToStart(ctx, db, worker);
  await deleter.start();
  try {
    const lat = await measureEnqueueToStart(ctx, db, worker);

    // Runs/s and WAL per run: a burst of single-turn runs over n/5 new sessions, 32 enqueuers. Its
    // prompt and answer are the size of the loaded ones (bench/lib/soakText.ts): rows smaller than
    // every loaded row would fit the leftover space of every old page, which traffic like the old
    // one leaves unused (each such row the first change to a cold page: a full-page image).
    const n = o.throughputRuns;
    ctx.log(`soak (${o.label}): ${n} runs for runs/s and WAL`);
    await db.query('checkpoint');
    const d0 = deleter.stats().runs_deleted;
    const w0 = await walNow(db);
    const res = (await worker.request(
      {
        type: 'enqueueMany',
        agent: 'bench',
        count: n,
        sessions: Math.max(1, Math.floor(n / 5)),
        concurrency: 32,
        prompt: SOAK_PROMPT,
      },
      600_000,
    )) as unknown as { runIds: string[] };
    const ids = res.runIds;
    await waitUntil(
      async () => {
        const [r] = await db.query<{ n: string }>(
          `select count(*) as n from agentpg_runs where id = any($1::uuid[]) and finalized_at is not null`,
          [ids],
        );
        return Number(r.n) >= n;
      },
      600_000,
      `${n} soak runs to finish`,
      250,
    );
    const w1 = await walNow(db);
    const d1 = deleter.stats().runs_deleted;
    // The deleter alone for a few seconds: its WAL per deleted run, to take its share out of the
    // window above (the instance is idle; its heartbeats write a few hundred bytes a second).
    await sleep(DELETER_ALONE_MS);
    const w2 = await walNow(db);
    const d2 = deleter.stats().runs_deleted;
    const images = inspect ? await walImagesByRelation(db, w0.lsn, w1.lsn) : null;
    const deleterImages = inspect ? await walImagesByRelation(db, w1.lsn, w2.lsn, 6) : null;
    if (images)
      for (const r of images)
        ctx.log(`soak (${o.label}): images ${r.images} (${r.image_bytes} B) ${r.relation} ${r.record}`);
    const [span] = await db.query<{ span_s: number; completed: string; created_ms: number; finished_ms: number[] }>(
      `select extract(epoch from max(finalized_at) - min(created_at))::float8 as span_s,
              count(*) filter (where state = 'completed') as completed,
              extract(epoch from min(created_at))::float8 * 1000 as created_ms,
              array_agg(extract(epoch from finalized_at)::float8 * 1000) as finished_ms
         from agentpg_runs where id = any($1::uuid[])`,
      [ids],
    );
    const side = {
      label: o.label,
      jobs: Number(span.completed),
      spanS: span.span_s,
      longestGapMs: longestGapMs(span.created_ms, span.finished_ms),
    };
    const check = tooShort(side) ?? stalled(side);
    const windowWal = lsnDiff(w0.lsn, w1.lsn);
    const deletedInWindow = d1 - d0;
    const deleterPerRun = d2 - d1 >= 100 ? lsnDiff(w1.lsn, w2.lsn) / (d2 - d1) : null;
    const deleterShare = deletedInWindow > 0 ? (deleterPerRun ?? 0) * deletedInWindow : 0;
    const walPerRun = deletedInWindow > 0 && deleterPerRun === null ? null : (windowWal - deleterShare) / n;

    // The cleanup pass, run by hand on the instance (its own schedule is pushed out).
    const passes: number[] = [];
    for (let i = 0; i < CLEANUP_PASSES; i++) {
      const p = (await worker.request({ type: 'cleanupPass' }, 120_000)) as unknown as { durationMs: number };
      passes.push(p.durationMs);
    }
    const cleanup = summarize(passes);

    // Operator views: median of a few runs each.
    const [sample] = await db.query<{ run_id: string | null; session_id: string | null }>(
      `select id as run_id, session_id from agentpg_runs where id = $1`,
      [ids[ids.length - 1]],
    );
    const views: Record<string, number | null> = {};
    const plans: Record<string, string[]> = {};
    for (const [name, sql, params] of viewQueries({
      runId: sample?.run_id ?? null,
      sessionId: sample?.session_id ?? null,
    })) {
      const times: number[] = [];
      for (let i = 0; i < VIEW_REPEATS; i++) {
        const t0 = performance.now();
        await db.query(sql, params);
        times.push(performance.now() - t0);
      }
      views[name] = round(summarize(times).p50, 2);
      if ((views[name] ?? 0) > SLOW_VIEW_MS) {
        const plan = await db.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params);
        plans[name] = plan.map((r) => r['QUERY PLAN']);
      }
    }
    const deleterStats = await deleter.stop();
    await sleep(2000); // backends flush their statistics when idle, at most once a second
    return {
      enqueue_to_start_ms: {
        p50: lat.value.p50,
        p99: lat.value.p99,
        samples: Number(lat.details?.samples ?? 0),
      },
      enqueue_to_start_ms_no_deleter: {
        p50: quiet.value.p50,
        p99: quiet.value.p99,
        samples: Number(quiet.details?.samples ?? 0),
      },
      runs_per_s: round(side.jobs / side.spanS, 1),
      runs_per_s_check: check,
      throughput: {
        runs: n,
        completed: side.jobs,
        span_s: round(side.spanS, 2) ?? 0,
        longest_gap_ms: round(side.longestGapMs, 0) ?? 0,
      },
      wal_bytes_per_run: round(walPerRun, 0),
      wal: {
        raw_bytes_per_run: Math.round(windowWal / n),
        fpi_per_run: w0.fpi === null || w1.fpi === null ? null : round((w1.fpi - w0.fpi) / n, 3),
        deleter_runs_deleted_in_window: deletedInWindow,
        deleter_bytes_per_deleted_run: round(deleterPerRun, 0),
        images_by_relation: images,
        deleter_images_by_relation: deleterImages,
      },
      cleanup_pass_ms: { p50: cleanup.p50, max: cleanup.max, samples: passes.length },
      views_ms: views,
      slow_view_plans: plans,
      deleter: deleterStats,
      tables_before: tablesBefore,
      tables_after: await tableStats(db),
      load_avg: { start: round(loadAtStart, 1) ?? 0, end: round(os.loadavg()[0], 1) ?? 0 },
    };
  } catch (err) {
    await deleter.stop().catch(() => {});
    throw err;
  }
}
