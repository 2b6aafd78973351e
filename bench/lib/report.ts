/**
 * The results file and the printed table. results.json has exactly the fields at the top
 * level (a metric that could not be measured is null and says why in `meta.skipped`), plus `meta`
 * (machine, server, mode, timings) and `details` (per-metric extras).
 */
export interface BenchResults {
  runs_throughput: { runs_per_s: number | null; baseline_jobs_per_s: number | null; ratio: number | null } | null;
  db_cost_per_run: { commits: number | null; wal_bytes: number | null } | null;
  concurrency: { in_flight: number | null; model_latency_ms: number; runs_per_s: number | null; efficiency: number | null; db_connections: number | null } | null;
  enqueue_to_start_ms: { p50: number | null; p99: number | null } | null;
  event_latency_ms: { p50: number | null; p99: number | null } | null;
  failover_sigkill_ms: { p50: number | null; max: number | null; trials: number; redis_ttl_baseline_p50: number | null } | null;
  failover_partition_ms: { p50: number | null; max: number | null; overlaps: number | null } | null;
  ownership_scale: { agents: number; instances: number; all_owned_ms: number | null; max_over_mean: number | null } | null;
  rss_mb_10k_agents: number | null;
  meta: Record<string, unknown>;
  details: Record<string, unknown>;
}

type Row = [metric: string, value: string, target: string, anchor: string];

const fmt = (x: number | null | undefined, unit = ''): string => (x === null || x === undefined ? 'n/a' : `${x.toLocaleString('en-US')}${unit}`);

/** Target check marks: informative only — a benchmark never fails on a number. */
const mark = (ok: boolean | null): string => (ok === null ? '' : ok ? ' ✓' : ' ✗');
const le = (x: number | null | undefined, t: number) => (x === null || x === undefined ? null : x <= t);
const ge = (x: number | null | undefined, t: number) => (x === null || x === undefined ? null : x >= t);

export function tableRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const t = r.runs_throughput;
  rows.push([
    'runs_throughput',
    t ? `${fmt(t.runs_per_s)} runs/s, ratio ${fmt(t.ratio)}${mark(ge(t.ratio, 0.6))}` : 'n/a',
    'ratio >= 0.6',
    t ? `bare pg-boss + SDK: ${fmt(t.baseline_jobs_per_s)} jobs/s` : '',
  ]);
  const c = r.db_cost_per_run;
  rows.push([
    'db_cost_per_run',
    c ? `${fmt(c.commits)} commits${mark(le(c.commits, 3))}, ${fmt(c.wal_bytes)} B WAL${mark(le(c.wal_bytes, 4096))}` : 'n/a',
    '<= 3 commits, <= 4,096 B',
    'naive design: 3.2 / 2.6 KB',
  ]);
  const k = r.concurrency;
  rows.push([
    'concurrency',
    k
      ? `${fmt(k.in_flight)} in flight${mark(ge(k.in_flight, 2000))}, eff ${fmt(k.efficiency)}${mark(ge(k.efficiency, 0.9))}, ${fmt(k.db_connections)} conns${mark(le(k.db_connections, 20))}`
      : 'n/a',
    '>= 2,000, >= 0.9, <= 20',
    k ? `${fmt(k.runs_per_s)} runs/s at ${fmt(k.model_latency_ms)} ms model latency` : '',
  ]);
  const e = r.enqueue_to_start_ms;
  rows.push(['enqueue_to_start_ms', e ? `p50 ${fmt(e.p50)}${mark(le(e.p50, 5))}, p99 ${fmt(e.p99)}${mark(le(e.p99, 25))}` : 'n/a', 'p50 <= 5, p99 <= 25', 'pg-boss polling: 500-2,000']);
  const ev = r.event_latency_ms;
  rows.push(['event_latency_ms', ev ? `p50 ${fmt(ev.p50)}${mark(le(ev.p50, 5))}, p99 ${fmt(ev.p99)}` : 'n/a', 'p50 <= 5', '']);
  const f = r.failover_sigkill_ms;
  rows.push([
    'failover_sigkill_ms',
    f ? `p50 ${fmt(f.p50)}${mark(le(f.p50, 1000))}, max ${fmt(f.max)}${mark(le(f.max, 3000))} (${f.trials} trials)` : 'n/a',
    'p50 <= 1,000, max <= 3,000',
    f ? `Redis TTL lock (seed 004): p50 ${fmt(f.redis_ttl_baseline_p50)}` : '',
  ]);
  const p = r.failover_partition_ms;
  rows.push([
    'failover_partition_ms',
    p ? `p50 ${fmt(p.p50)}, max ${fmt(p.max)}${mark(le(p.max, 15000))}, overlaps ${fmt(p.overlaps)}${mark(p.overlaps === null ? null : p.overlaps === 0)}` : 'n/a',
    '<= 15,000, 0 overlaps',
    '',
  ]);
  const s = r.ownership_scale;
  rows.push([
    'ownership_scale',
    s ? `${fmt(s.agents)} agents / ${s.instances}: ${fmt(s.all_owned_ms)} ms${mark(le(s.all_owned_ms, 30000))}, max/mean ${fmt(s.max_over_mean)}${mark(le(s.max_over_mean, 1.2))}` : 'n/a',
    '<= 30,000 ms, <= 1.2',
    '',
  ]);
  rows.push(['rss_mb_10k_agents', `${fmt(r.rss_mb_10k_agents, ' MB')}${mark(le(r.rss_mb_10k_agents, 200))}`, '<= 200 MB', '']);
  return rows;
}

export function formatTable(rows: Row[], header: Row = ['metric', 'measured', 'target', 'baseline / anchor']): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: Row) => r.map((cell, i) => cell.padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** The same table as Markdown, for the README's Performance section. */
export function formatMarkdown(rows: Row[]): string {
  const header = ['metric', 'measured', 'target', 'baseline / anchor'];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
