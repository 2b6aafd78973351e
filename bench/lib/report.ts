/**
 * The results file and the printed table (its rules are tested in test/bench/report.test.ts). results.json has exactly the issue's fields at the top
 * level (a metric that could not be measured is null and says why in `meta.skipped`), plus `meta`
 * (machine, server, mode, timings) and `details` (per-metric extras).
 */
import type { BatchModeValue } from '../metrics/batchMode.js';
import type { EnqueueToStartValue } from '../metrics/enqueueToStart.js';
import { commitFloorCell, type CommitLatency } from './commitLatency.js';
import type { RateLimitedValue } from '../metrics/rateLimited.js';
import type { RoutingValue } from '../metrics/routing.js';
import type { FootprintValue } from '../metrics/footprint.js';
import type { SessionScalingValue } from '../metrics/sessionScaling.js';

/** The concurrency metric's figures (bench/metrics/concurrency.ts). */
export interface ConcurrencyFigures {
  in_flight: number | null;
  model_latency_ms: number;
  runs_per_s: number | null;
  efficiency: number | null;
  db_connections: number | null;
}

export interface BenchResults {
  runs_throughput: {
    runs_per_s: number | null;
    baseline_jobs_per_s: number | null;
    ratio: number | null;
    check?: 'ok' | 'too_short' | 'stalled';
    check_reason?: string | null;
    /** The same model calls with no database (bench/metrics/throughputLimit.ts); optional: newer than the rest. */
    limit_calls_per_s?: number | null;
    of_limit?: number | null;
    limit_check?: 'ok' | 'too_short' | 'stalled';
    limit_check_reason?: string | null;
  } | null;
  db_cost_per_run: { commits: number | null; wal_bytes: number | null } | null;
  concurrency: {
    in_flight: number | null;
    model_latency_ms: number;
    runs_per_s: number | null;
    efficiency: number | null;
    db_connections: number | null;
    /** The same in a database autovacuum never visits, no ANALYZE by the harness; optional: newer than the rest. */
    no_autovacuum?: ConcurrencyFigures | null;
  } | null;
  /** Enqueue call → `running` in another process, with graphile-worker's and pg-boss's figures beside it. */
  enqueue_to_start_ms: EnqueueToStartValue | null;
  event_latency_ms: { p50: number | null; p99: number | null } | null;
  /** Decision COMMIT → the waiting run `running` again on another instance (bench/metrics/waits.ts). */
  resume_after_decision_ms?: { p50: number | null; p99: number | null } | null;
  /** 2,000 runs waiting for approval on one instance: what they hold. */
  waiting_runs?: { runs: number; worker_slots_held: number | null; connections_added: number | null } | null;
  /** Enqueue inside the caller's transaction (COMMIT included) beside a plain enqueue, same run. */
  enqueue_in_tx_ms: { p50: number | null; plain_p50: number | null; ratio: number | null; samples: number } | null;
  failover_sigkill_ms: {
    p50: number | null;
    max: number | null;
    trials: number;
  } | null;
  failover_partition_ms: {
    p50: number | null;
    max: number | null;
    overlaps: number | null;
    /** A lost owner under a Redis TTL lock: the lock's expiry (bench/README.md). */
    redis_ttl_baseline_p50: number | null;
  } | null;
  ownership_scale: {
    agents: number;
    instances: number;
    all_owned_ms: number | null;
    max_over_mean: number | null;
  } | null;
  rss_mb_10k_agents: number | null;
  /** Three instances against an API limited to N requests per window, limiter on vs off; optional: newer than the rest. */
  rate_limited?: RateLimitedValue | null;
  /** Share of a 20-turn session's input tokens (after turn 2) billed as cache reads; optional: newer than the rest. */
  cache_read_share?: { share: number | null; turns: number; cost_ratio: number | null } | null;
  /** Pick-up on sessions of 10, 1,000 and 10,000 messages (bench/metrics/sessionScaling.ts); optional: newer than the rest. */
  session_scaling?: SessionScalingValue | null;
  /** Agents as tools: a parent's tool_use stored → its child run `running`; optional: newer than the rest. */
  child_run_start_ms?: { p50: number | null; p99: number | null; samples: number } | null;
  /** Batch mode: API requests per run for N runs (bench/metrics/batchMode.ts); optional: newer than the rest. */
  batch_mode?: BatchModeValue | null;
  /** Instant failover of runs: SIGKILL of the executing instance → the run claimed again elsewhere; optional: newer than the rest. */
  failover_runs_sigkill_ms?: {
    p50: number | null;
    max: number | null;
    trials: number;
    baseline_p50: number | null;
    baseline_trials: number;
  } | null;
  /** Capability routing: 3 instances, 1 capable of the agent (bench/metrics/routing.ts); optional: newer than the rest. */
  routing?: RoutingValue | null;
  /** Connections of one instance idle and at the peak of a 500-run burst (bench/metrics/footprint.ts); optional: newer than the rest. */
  instance_footprint?: FootprintValue | null;
  meta: Record<string, unknown>;
  details: Record<string, unknown>;
}

/** One table row; `sameRun` holds only figures measured by this run, `earlier` only ones that were not. */
export interface Row {
  metric: string;
  measured: string;
  target: string;
  sameRun: string;
  earlier: string;
  /** What the comparison compares, one line; empty when the row compares nothing. */
  compares: string;
}

const HEADER = ['metric', 'measured', 'target', 'baseline (this run)', 'earlier figure (not this run)'];
const cells = (r: Row) => [r.metric, r.measured, r.target, r.sameRun, r.earlier];

const fmt = (x: number | null | undefined, unit = ''): string =>
  x === null || x === undefined ? 'n/a' : `${x.toLocaleString('en-US')}${unit}`;

/** Target check marks: informative only — a benchmark never fails on a number. */
const mark = (ok: boolean | null): string => (ok === null ? '' : ok ? ' ✓' : ' ✗');
const le = (x: number | null | undefined, t: number) => (x === null || x === undefined ? null : x <= t);
const ge = (x: number | null | undefined, t: number) => (x === null || x === undefined ? null : x >= t);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The throughput cell: no ratio for a too-short side, a flag instead of a mark for a stalled one. */
export function throughputCell(t: NonNullable<BenchResults['runs_throughput']>): string {
  const rate = `${fmt(t.runs_per_s)} runs/s`;
  if (t.check === 'too_short' || t.ratio === null)
    return `${rate}, ${t.check_reason ?? 'no ratio: a side was not measured'}`;
  if (t.check === 'stalled') return `${rate}, ratio ${fmt(t.ratio)} ⚠ ${t.check_reason}`;
  return `${rate}, ratio ${fmt(t.ratio)}${mark(ge(t.ratio, 0.6))}`;
}

/** What a latency row's floor compares (bench/lib/commitLatency.ts). */
const FLOOR_COMPARES =
  "the floor: the latency's durable commits (each waits for the WAL flush) at the p50 of a bare one-row commit on the same server, this run";

/** In flight, efficiency and connections against their targets (2,000 is the full run's slots). */
export function concurrencyCell(k: ConcurrencyFigures): string {
  return `${fmt(k.in_flight)} in flight${mark(ge(k.in_flight, 2000))}, eff ${fmt(k.efficiency)}${mark(ge(k.efficiency, 0.9))}, ${fmt(k.db_connections)} conns${mark(le(k.db_connections, 20))}`;
}

/**
 * enqueue_to_start: the enqueue call → `running` in another process, against graphile-worker's
 * add_job → handler start (the target: p50 no higher) and pg-boss's send → handler start, both
 * measured in the same run; two commits on the path (the enqueue's, the claim's).
 */
export function enqueueToStartRow(e: EnqueueToStartValue | null, floor: CommitLatency | undefined): Row {
  const gw = e?.graphile_worker_p50 ?? null;
  const vsGraphile = e && e.p50 !== null && gw !== null ? e.p50 <= gw : null;
  const baselines =
    e && (e.graphile_worker_p50 !== undefined || e.pgboss_p50 !== undefined)
      ? `graphile-worker p50 ${fmt(gw)}, pg-boss p50 ${fmt(e.pgboss_p50)}`
      : '';
  const floorCell = commitFloorCell(floor, 2);
  return {
    metric: 'enqueue_to_start_ms',
    measured: e
      ? `p50 ${fmt(e.p50)}${mark(le(e.p50, 5))}${gw !== null ? ` (vs graphile-worker${mark(vsGraphile)})` : ''}, p99 ${fmt(e.p99)}${mark(le(e.p99, 25))}`
      : 'n/a',
    target: "p50 <= 5 and <= graphile-worker's, p99 <= 25",
    sameRun: [baselines, floorCell].filter(Boolean).join('; '),
    earlier: 'pg-boss polling, published anchor (not measured): 500-2,000 ms',
    compares: [
      baselines
        ? 'enqueue call → handler start in another process, one at a time on an idle system: agentpg enqueue() → claimed vs graphile-worker addJob → task start (LISTEN/NOTIFY, concurrency 1) vs pg-boss send → work handler (notify queue, batch 1)'
        : '',
      floor ? FLOOR_COMPARES : '',
      'the anchor is the wait a polling pg-boss worker adds (its poll interval), not a measurement',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

/** The of_limit cell: as the throughput cell, against the no-database limit. */
export function ofLimitCell(t: NonNullable<BenchResults['runs_throughput']>): string {
  if (t.limit_calls_per_s === undefined) return 'n/a (the limit side did not run)';
  if (t.limit_check === 'too_short' || t.of_limit === null || t.of_limit === undefined)
    return t.limit_check_reason ?? 'no ratio: a side was not measured';
  if (t.limit_check === 'stalled') return `${fmt(t.of_limit)} ⚠ ${t.limit_check_reason}`;
  return `${fmt(t.of_limit)} of the limit${mark(ge(t.of_limit, 0.8))}`;
}

export function tableRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const floor = r.details.commit_latency_ms as CommitLatency | undefined;
  const t = r.runs_throughput;
  rows.push({
    metric: 'runs_throughput',
    measured: t ? throughputCell(t) : 'n/a',
    target: 'ratio >= 0.6',
    sameRun: t ? `bare pg-boss + SDK: ${fmt(t.baseline_jobs_per_s)} jobs/s` : '',
    earlier: '',
    compares:
      'agentpg runs/s vs bare pg-boss jobs/s: same queue options, sessions and SDK call, one process each, same model process, back to back',
  });
  rows.push({
    metric: 'runs_throughput.of_limit',
    measured: t ? ofLimitCell(t) : 'n/a',
    target: '>= 0.8',
    sameRun:
      t && t.limit_calls_per_s !== undefined ? `no database, same SDK calls: ${fmt(t.limit_calls_per_s)} calls/s` : '',
    earlier: '',
    compares:
      t && t.limit_calls_per_s !== undefined
        ? 'agentpg runs/s vs the same model calls (request, SDK client, streaming, 100 in flight, sessions in order) from a process of the same kind with no database, same model process, right after'
        : '',
  });
  const c = r.db_cost_per_run;
  const td = (r.details.throughput ?? {}) as Record<string, unknown>;
  const bc = num(td.baseline_commits_per_job);
  const bw = num(td.baseline_wal_bytes_per_job);
  rows.push({
    metric: 'db_cost_per_run',
    measured: c
      ? `${fmt(c.commits)} commits${mark(le(c.commits, 3))}, ${fmt(c.wal_bytes)} B WAL${mark(le(c.wal_bytes, 4096))}`
      : 'n/a',
    target: '<= 3 commits, <= 4,096 B',
    sameRun: bc !== null || bw !== null ? `bare pg-boss job: ${fmt(bc)} commits, ${fmt(bw)} B WAL` : '',
    earlier: 'naive design, published anchor (not measured): 3.2 commits / 2.6 KB',
    compares:
      "per agentpg run vs per bare pg-boss job of the throughput metric, each side's whole commits and WAL over its own window",
  });
  const k = r.concurrency;
  rows.push({
    metric: 'concurrency',
    measured: k && k.in_flight !== null ? concurrencyCell(k) : 'n/a',
    target: '>= 2,000, >= 0.9, <= 20',
    sameRun: '',
    earlier: '',
    compares:
      k && k.in_flight !== null
        ? `no baseline; ${fmt(k.runs_per_s)} runs/s at ${fmt(k.model_latency_ms)} ms model latency`
        : '',
  });
  const kn = k?.no_autovacuum;
  rows.push({
    metric: 'concurrency.no_autovacuum',
    measured: kn ? concurrencyCell(kn) : 'n/a',
    target: '>= 2,000, >= 0.9, <= 20',
    sameRun: '',
    earlier: '',
    compares: kn
      ? `the concurrency metric again in a database autovacuum never visits, no ANALYZE by the harness: ${fmt(kn.runs_per_s)} runs/s`
      : '',
  });
  rows.push(enqueueToStartRow(r.enqueue_to_start_ms, floor));
  const ev = r.event_latency_ms;
  rows.push({
    metric: 'event_latency_ms',
    measured: ev ? `p50 ${fmt(ev.p50)}${mark(le(ev.p50, 5))}, p99 ${fmt(ev.p99)}` : 'n/a',
    target: 'p50 <= 5',
    sameRun: '',
    earlier: '',
    compares: '',
  });
  const rd = r.resume_after_decision_ms;
  rows.push({
    metric: 'resume_after_decision_ms',
    measured: rd ? `p50 ${fmt(rd.p50)}${mark(le(rd.p50, 5))}, p99 ${fmt(rd.p99)}${mark(le(rd.p99, 25))}` : 'n/a',
    target: 'p50 <= 5, p99 <= 25',
    sameRun: rd ? commitFloorCell(floor, 1) : '',
    earlier: '',
    compares: rd && floor ? FLOOR_COMPARES : '',
  });
  const w = r.waiting_runs;
  rows.push({
    metric: 'waiting_runs',
    measured: w
      ? `${fmt(w.runs)} waiting: ${fmt(w.worker_slots_held)} slots${mark(le(w.worker_slots_held, 0))}, ${(w.connections_added ?? 0) >= 0 ? '+' : ''}${fmt(w.connections_added)} conns${mark(le(w.connections_added, 0))}`
      : 'n/a',
    target: '0 slots, 0 connections added',
    sameRun: '',
    earlier: '',
    compares: '',
  });
  const tx = r.enqueue_in_tx_ms;
  rows.push({
    metric: 'enqueue_in_tx_ms',
    measured: tx
      ? `p50 ${fmt(tx.p50)}, ratio ${tx.ratio === null ? 'n/a (too few samples)' : fmt(tx.ratio)}${mark(le(tx.ratio, 1.5))}`
      : 'n/a',
    target: 'ratio <= 1.5',
    sameRun: tx ? `plain enqueue: p50 ${fmt(tx.plain_p50)} (${tx.samples} samples each)` : '',
    earlier: '',
    compares:
      "BEGIN + enqueue({ db }) + COMMIT on the caller's connection vs a plain enqueue (group commit, nothing else in flight), alternating in one process",
  });
  const f = r.failover_sigkill_ms;
  rows.push({
    metric: 'failover_sigkill_ms',
    measured: f
      ? `p50 ${fmt(f.p50)}${mark(le(f.p50, 1000))}, max ${fmt(f.max)}${mark(le(f.max, 3000))} (${f.trials} trials)`
      : 'n/a',
    target: 'p50 <= 1,000, max <= 3,000',
    sameRun: '',
    earlier: '',
    compares:
      'no baseline: a killed process closes its sockets, which agentpg sees at once and a TTL lock never does (see failover_partition_ms)',
  });
  const p = r.failover_partition_ms;
  rows.push({
    metric: 'failover_partition_ms',
    measured: p
      ? `p50 ${fmt(p.p50)}, max ${fmt(p.max)}${mark(le(p.max, 15000))}, overlaps ${fmt(p.overlaps)}${mark(p.overlaps === null ? null : p.overlaps === 0)}`
      : 'n/a',
    target: '<= 15,000, 0 overlaps',
    sameRun: p ? `Redis 30 s TTL lock, owner lost: p50 ${fmt(p.redis_ttl_baseline_p50)}` : '',
    earlier: '',
    compares:
      'a lost owner, nothing closed: agentpg owner cut off by its proxy vs a 30 s Redis lock whose owner stops refreshing, until another takes over',
  });
  const s = r.ownership_scale;
  rows.push({
    metric: 'ownership_scale',
    measured: s
      ? `${fmt(s.agents)} agents / ${s.instances}: ${fmt(s.all_owned_ms)} ms${mark(le(s.all_owned_ms, 30000))}, max/mean ${fmt(s.max_over_mean)}${mark(le(s.max_over_mean, 1.2))}`
      : 'n/a',
    target: '<= 30,000 ms, <= 1.2',
    sameRun: '',
    earlier: '',
    compares: '',
  });
  rows.push({
    metric: 'rss_mb_10k_agents',
    measured: `${fmt(r.rss_mb_10k_agents, ' MB')}${mark(le(r.rss_mb_10k_agents, 200))}`,
    target: '<= 200 MB',
    sameRun: '',
    earlier: '',
    compares: '',
  });
  const rl = r.rate_limited;
  rows.push({
    metric: 'rate_limited',
    measured: rl
      ? `${fmt(rl.achieved_rpm)} of ${fmt(rl.limit_rpm)} rpm, ratio ${fmt(rl.ratio)}${mark(ge(rl.ratio, 0.9))}; 429s ${fmt(rl.share_429)}${mark(le(rl.share_429, 0.01))}`
      : 'n/a',
    target: '>= 0.9, <= 0.01',
    sameRun: rl?.baseline
      ? `limiter off (per-call retry): ratio ${fmt(rl.baseline.ratio)}, 429s ${fmt(rl.baseline.share_429)}`
      : '',
    earlier: '',
    compares: rl
      ? `3 instances, ${rl.duration_s} s against the fake API's limit: cluster-wide limiter vs each call retrying its own 429s`
      : '',
  });
  const cr = r.cache_read_share;
  rows.push({
    metric: 'cache_read_share',
    measured: cr ? `${fmt(cr.share)} of input tokens after turn 2${mark(ge(cr.share, 0.8))}` : 'n/a',
    target: '>= 0.8',
    sameRun: cr ? `same ${cr.turns} turns, cache off: input-token cost x${fmt(cr.cost_ratio)} with caching` : '',
    earlier: '',
    compares: cr
      ? "one session against the fake API's prompt cache: default breakpoints vs cache: false, input-token cost at 0.1x reads and 1.25x writes"
      : '',
  });
  const ss = r.session_scaling;
  rows.push({
    metric: 'session_scaling',
    measured: ss
      ? `pick-up ${fmt(ss['10'].pickup_ms, ' ms')} / ${fmt(ss['1000'].pickup_ms, ' ms')} / ${fmt(ss['10000'].pickup_ms, ' ms')} at 10 / 1,000 / 10,000 messages, ratio ${fmt(ss.ratio_10000_vs_10)}${mark(le(ss.ratio_10000_vs_10, 1.5))}; rss +${fmt(ss['10000'].worker_rss_delta_mb, ' MB')} at 10,000${mark(le(ss['10000'].worker_rss_delta_mb, 50))}`
      : 'n/a',
    target: '<= 1.5, <= 50 MB',
    sameRun: ss ? `input tokens sent ${fmt(ss['10'].input_tokens_sent)} / ${fmt(ss['10000'].input_tokens_sent)}` : '',
    earlier: '',
    compares: ss
      ? 'single-turn runs on sessions of 10, 1,000 and 10,000 stored messages (100 KB tool output every 10th), the long ones compacted to their last 10'
      : '',
  });
  const cs = r.child_run_start_ms;
  rows.push({
    metric: 'child_run_start_ms',
    measured: cs ? `p50 ${fmt(cs.p50)}${mark(le(cs.p50, 10))}, p99 ${fmt(cs.p99)} (${cs.samples} samples)` : 'n/a',
    target: 'p50 <= 10',
    sameRun: cs ? commitFloorCell(floor, 2) : '',
    earlier: '',
    compares: cs && floor ? FLOOR_COMPARES : '',
  });
  const bm = r.batch_mode;
  rows.push({
    metric: 'batch_mode',
    measured: bm
      ? `${fmt(bm.requests_per_run)} API requests per run (${bm.api_requests} for ${bm.runs} runs in ${bm.batches} batches${bm.mode === 'quick' ? ', quick: 1,000 runs in a full run' : ''})`
      : 'n/a',
    target: '',
    sameRun: bm ? `same runs without batch mode: ${fmt(bm.baseline_requests_per_run)} per run` : '',
    earlier: '',
    compares: bm
      ? 'single-turn runs enqueued at once; poll pass every 1 s, batches end 2 s after creation (fake API)'
      : '',
  });
  const rf = r.failover_runs_sigkill_ms;
  rows.push({
    metric: 'failover_runs_sigkill_ms',
    measured: rf
      ? `p50 ${fmt(rf.p50)}${mark(le(rf.p50, 1000))}, max ${fmt(rf.max)}${mark(le(rf.max, 3000))} (${rf.trials} trials)`
      : 'n/a',
    target: 'p50 <= 1000, max <= 3000',
    sameRun: rf ? `job-expiry hand-back p50 ${fmt(rf.baseline_p50)} (${rf.baseline_trials} trials)` : '',
    earlier: '',
    compares: rf
      ? 'SIGKILL of the instance process executing a run → its next claim on a survivor: instant failover (liveness locks) vs the same survivor with it off (pg-boss job heartbeat expiry)'
      : '',
  });
  const ro = r.routing;
  rows.push({
    metric: 'routing',
    measured: ro
      ? `${ro.instances} instances, ${ro.capable} capable: enqueue_to_start p99 ${fmt(ro.enqueue_to_start_p99_ms)}${mark(le(ro.enqueue_to_start_p99_ms, 25))} (p50 ${fmt(ro.enqueue_to_start_p50_ms)}), foreign fetches ${fmt(ro.foreign_fetches)}${mark(ro.foreign_fetches === null ? null : ro.foreign_fetches === 0)}`
      : 'n/a',
    target: 'p99 <= 25, 0 foreign fetches',
    sameRun: '',
    earlier: 'before routing, issue 13 (not measured here): a run queued ~2.5 min, its job handed back 8 times',
    compares:
      'no same-run baseline; the anchor is the hand-back loop of an instance without the agent before routing, not a measurement',
  });
  const fp = r.instance_footprint;
  rows.push({
    metric: 'instance_footprint',
    measured: fp
      ? `idle ${fp.idle_connections}${mark(le(fp.idle_connections, 4))}, peak ${fp.peak_connections}${mark(le(fp.peak_connections, 8))} connections (500-run burst); ${fp.instances_at_default_max} idle instances at max_connections 100${mark(ge(fp.instances_at_default_max, 20))} (${fp.instances_at_default_max_all_loaded} all at their peak)`
      : 'n/a',
    target: 'idle <= 4, peak <= 8, >= 20 instances',
    sameRun: '',
    earlier:
      'before, issue 18 (not measured here): one instance idle 11, peak 19; three service instances 28 idle, 33 under a burst',
    compares: fp ? 'no same-run baseline; connections of one instance counted in pg_stat_activity' : '',
  });
  return rows;
}

/** One line per row that compares something: what exactly it compares. */
export function comparisonLines(rows: Row[]): string[] {
  return rows.filter((r) => r.compares).map((r) => `${r.metric}: ${r.compares}`);
}

export function formatTable(rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i])).join(' | ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...all.slice(1).map(line)].join('\n');
}

/** The same table as Markdown, for the README's Performance section, with what each comparison compares. */
export function formatMarkdown(rows: Row[]): string {
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
    'What each comparison compares:',
    '',
    ...comparisonLines(rows).map((l) => `- ${l}`),
  ].join('\n');
}
