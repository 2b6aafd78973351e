/**
 * soak (issue 18; `npm run bench -- --only soak [--soak-rows N]`, not in the default run).
 *
 * One database, one agentpg instance process (runConcurrency 100, its scheduled cleanup pushed out
 * so passes run only when timed), autovacuum on the server's defaults. The same measures
 * (bench/metrics/soakPhase.ts) twice in the one run:
 *   1. on near-empty tables (the migrated schema and whatever the measures themselves add);
 *   2. after a bulk load of N finished runs with their sessions, messages and tool calls
 *      (bench/lib/soakLoad.ts; default 1,000,000), then VACUUM ANALYZE and CHECKPOINT.
 * In both, agentpg's retention duty (src/retention, bench/lib/soakRetention.ts) retires sessions
 * whose runs all finished over 300 days ago, 100 sessions (500 runs) every 2 s; on near-empty
 * tables it finds nothing. The ratios are full / near-empty; a ratio from a throughput window
 * that ran too briefly or stalled is not given (bench/lib/comparison.ts).
 *
 * pg-boss's job tables: agentpg deletes a run's job when the run ends (src/runs/queue.ts), so the
 * runs queue's table holds only unfinished runs whatever agentpg_runs holds, and there is no
 * backlog of completed run jobs to load; the cleanup queue keeps one hour of passes (pg-boss
 * deletes them), also independent of the runs' number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Child } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { type BenchDatabase } from '../lib/database.js';
import { loadFinishedRuns, type SoakLoadResult } from '../lib/soakLoad.js';
import { retentionDeleter, type BackgroundDeleter } from '../lib/soakRetention.js';
import { round } from '../lib/stats.js';
import { measurePhase, type SoakPhase } from './soakPhase.js';

export const SOAK_ROWS_DEFAULT = 1_000_000;

/** full / near-empty; the targets. */
const TARGETS = {
  enqueue_to_start_p50: 1.5,
  enqueue_to_start_p99: 1.5,
  runs_per_s: 1.5,
  wal_per_run: 1.2,
} as const;

export interface SoakValue {
  rows: number;
  ratios: {
    enqueue_to_start_p50: number | null;
    enqueue_to_start_p99: number | null;
    runs_per_s: number | null;
    wal_per_run: number | null;
  };
  /** Per target: true (met), false (missed), null (no ratio; see ratio_notes). */
  pass: Record<keyof typeof TARGETS, boolean | null>;
  targets: string;
  ratio_notes: string[];
  load: SoakLoadResult;
  near_empty: SoakPhase;
  full: SoakPhase;
  retention: string;
  meta: Record<string, unknown>;
}

export interface SoakOptions {
  rows: number;
  /** Where soak.json goes. */
  out: string;
  /** The background deleter (default: src/retention's duty, bench/lib/soakRetention.ts). */
  deleter?: (databaseUrl: string) => BackgroundDeleter;
}

export async function measureSoak(
  ctx: BenchContext,
  db: BenchDatabase,
  o: SoakOptions,
): Promise<MetricResult<SoakValue>> {
  const makeDeleter = o.deleter ?? ((url: string) => retentionDeleter(url));
  const throughputRuns = ctx.quick ? 2000 : 5000;
  const worker = new Child(workerScript('instance'), {
    label: 'soak',
    env: {
      BENCH_WORKER: JSON.stringify({
        databaseUrl: db.url,
        instanceId: 'bench-soak',
        modelUrl: ctx.modelUrl,
        agents: true,
        subscribeEvents: true,
        runConcurrency: 100,
        cluster: { cleanupIntervalMs: 600_000, shutdownTimeoutMs: 1000 },
      }),
    },
    keepMessages: false,
  });
  try {
    await worker.waitFor((m) => m.type === 'ready', 60_000, 'soak instance ready');
    ctx.log('soak: near-empty tables');
    const nearDeleter = makeDeleter(db.url);
    const near = await measurePhase(ctx, db, worker, nearDeleter, { label: 'near-empty', throughputRuns });

    ctx.log(`soak: loading ${o.rows.toLocaleString('en-US')} finished runs`);
    const load = await loadFinishedRuns(db.url, o.rows, (m) => ctx.log(m));
    ctx.log(`soak: loaded in ${load.load_s} s, vacuum ${load.vacuum_s} s; measuring on full tables`);
    const fullDeleter = makeDeleter(db.url);
    const full = await measurePhase(ctx, db, worker, fullDeleter, { label: 'full', throughputRuns });

    const notes: string[] = [];
    const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
    const windowsOk = !near.runs_per_s_check && !full.runs_per_s_check;
    for (const c of [near.runs_per_s_check, full.runs_per_s_check]) if (c) notes.push(`no runs/s or WAL ratio: ${c}`);
    const ratios = {
      enqueue_to_start_p50: round(ratio(full.enqueue_to_start_ms.p50, near.enqueue_to_start_ms.p50), 3),
      enqueue_to_start_p99: round(ratio(full.enqueue_to_start_ms.p99, near.enqueue_to_start_ms.p99), 3),
      runs_per_s: windowsOk ? round(ratio(full.runs_per_s, near.runs_per_s), 3) : null,
      wal_per_run: windowsOk ? round(ratio(full.wal_bytes_per_run, near.wal_bytes_per_run), 3) : null,
    };
    const pass = {
      enqueue_to_start_p50:
        ratios.enqueue_to_start_p50 === null ? null : ratios.enqueue_to_start_p50 <= TARGETS.enqueue_to_start_p50,
      enqueue_to_start_p99:
        ratios.enqueue_to_start_p99 === null ? null : ratios.enqueue_to_start_p99 <= TARGETS.enqueue_to_start_p99,
      // Slower is a ratio below 1 here: within 1.5x means at least 1 / 1.5 of the near-empty rate.
      runs_per_s: ratios.runs_per_s === null ? null : ratios.runs_per_s >= 1 / TARGETS.runs_per_s,
      wal_per_run: ratios.wal_per_run === null ? null : ratios.wal_per_run <= TARGETS.wal_per_run,
    };
    const value: SoakValue = {
      rows: o.rows,
      ratios,
      pass,
      targets:
        'full / near-empty: enqueue_to_start p50 and p99 <= 1.5, runs_per_s >= 1/1.5 (within 1.5x), wal_per_run <= 1.2',
      ratio_notes: notes,
      load,
      near_empty: near,
      full,
      retention: full.deleter.kind,
      meta: {
        date: new Date().toISOString(),
        server: `${ctx.server.kind} PostgreSQL ${ctx.server.version}, default settings (autovacuum on, shared_buffers 128MB)`,
        mode: ctx.quick ? 'quick' : 'full',
        throughput_runs_per_phase: throughputRuns,
        command: `npm run bench -- --only soak --soak-rows ${o.rows}${ctx.quick ? ' --quick' : ''}`,
      },
    };
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    fs.writeFileSync(o.out, JSON.stringify(value, null, 2) + '\n');
    return { value, notes };
  } finally {
    await worker.request({ type: 'stop' }, 30_000).catch(() => worker.kill());
  }
}

/** The printed summary: one PASS/FAIL line per target, then the raw figures side by side. */
export function soakLines(v: SoakValue): string[] {
  const verdict = (p: boolean | null) => (p === null ? 'n/a ' : p ? '✓ PASS' : '✗ FAIL');
  const n = v.near_empty;
  const f = v.full;
  const lines = [
    `machine load average (1 min) near-empty ${n.load_avg.start} → ${n.load_avg.end}, full ${f.load_avg.start} → ${f.load_avg.end}`,
    `soak at ${v.rows.toLocaleString('en-US')} finished runs (${v.load.messages.toLocaleString('en-US')} messages, ${v.load.tool_calls.toLocaleString('en-US')} tool calls; loaded in ${v.load.load_s} s) vs near-empty, same run:`,
    `  ${verdict(v.pass.enqueue_to_start_p50)} enqueue_to_start p50: ${f.enqueue_to_start_ms.p50} ms vs ${n.enqueue_to_start_ms.p50} ms, ratio ${v.ratios.enqueue_to_start_p50} (target <= 1.5)`,
    `  ${verdict(v.pass.enqueue_to_start_p99)} enqueue_to_start p99: ${f.enqueue_to_start_ms.p99} ms vs ${n.enqueue_to_start_ms.p99} ms, ratio ${v.ratios.enqueue_to_start_p99} (target <= 1.5)`,
    `         (deleter not running: p50 ${f.enqueue_to_start_ms_no_deleter.p50} ms vs ${n.enqueue_to_start_ms_no_deleter.p50} ms, p99 ${f.enqueue_to_start_ms_no_deleter.p99} ms vs ${n.enqueue_to_start_ms_no_deleter.p99} ms)`,
    `  ${verdict(v.pass.runs_per_s)} runs_per_s: ${f.runs_per_s} vs ${n.runs_per_s}, ratio ${v.ratios.runs_per_s} (target >= 0.667)`,
    `  ${verdict(v.pass.wal_per_run)} wal_per_run: ${f.wal_bytes_per_run} B vs ${n.wal_bytes_per_run} B, ratio ${v.ratios.wal_per_run} (target <= 1.2; raw ${f.wal.raw_bytes_per_run} vs ${n.wal.raw_bytes_per_run} B, full-page images/run ${f.wal.fpi_per_run} vs ${n.wal.fpi_per_run})`,
    `  cleanup pass p50: ${f.cleanup_pass_ms.p50} ms vs ${n.cleanup_pass_ms.p50} ms`,
  ];
  for (const k of Object.keys(f.views_ms)) lines.push(`  view ${k}: ${f.views_ms[k]} ms vs ${n.views_ms[k]} ms`);
  lines.push(
    `  retention: ${v.retention}; deleted ${f.deleter.runs_deleted} runs in ${f.deleter.batches} batches (longest ${f.deleter.max_batch_ms} ms, errors ${f.deleter.errors})`,
  );
  for (const note of v.ratio_notes) lines.push(`  note: ${note}`);
  return lines;
}
