/**
 * runs_throughput + db_cost_per_run.
 *
 * Both sides run in one child process each, enqueue N units with 32 concurrent callers while
 * working them (one instance doing everything), against the same fake model process at zero
 * latency. The rate is N over the span from the first unit created to the last one finished, read
 * from the database's own timestamps (agentpg_runs.created_at → finalized_at; pg-boss job
 * created_on → completed_on), so neither side's process start or the harness's polling counts.
 * N is large enough that each side runs for seconds; the ratio is withheld when a side ran shorter
 * than bench/lib/comparison.ts's minimum, and flagged when a side went seconds without finishing
 * a job (a stalled poll), from the same timestamps.
 *
 * A third side, run right after the agentpg one: the no-database limit (bench/metrics/
 * throughputLimit.ts), the same model calls from a process of the same kind with no database.
 * runs_throughput.of_limit = runs_per_s ÷ limit_calls_per_s, withheld or flagged by the same rules.
 *
 * db_cost_per_run: pg_stat_database.xact_commit and pg_current_wal_lsn() deltas over the agentpg
 * side, from before the first enqueue to after the instance stopped (its backends flushed their
 * stats on exit), minus the harness's own polling statements; pg-boss's own work included. The
 * same numbers for the baseline (pg-boss alone) go in details.
 */
import { Child } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { HARNESS_APP, sleep, type BenchDatabase } from '../lib/database.js';
import { costDelta, costSnapshot } from '../lib/dbCost.js';
import { cpuMsPerUnit, cpuSnapshot, parentPid, type CpuProbe } from '../lib/cpu.js';
import { CountingClient } from '../lib/poll.js';
import { judgeThroughput, longestGapMs, type SideRun, type Verdict } from '../lib/comparison.js';
import { round } from '../lib/stats.js';
import { measureLimitSide } from './throughputLimit.js';

export interface ThroughputValue {
  runs_throughput: Partial<ThroughputLimit> & {
    runs_per_s: number | null;
    baseline_jobs_per_s: number | null;
    /** Null when a side ran too short (see `check`). */
    ratio: number | null;
    /** ok, too_short (no ratio) or stalled (ratio printed, not trusted); bench/lib/comparison.ts. */
    check: Verdict['kind'];
    check_reason: string | null;
  };
  db_cost_per_run: { commits: number | null; wal_bytes: number | null };
}

/** The no-database limit beside runs_throughput (bench/workers/limit.ts); null when it could not run. */
export interface ThroughputLimit {
  limit_calls_per_s: number | null;
  /** runs_per_s ÷ limit_calls_per_s; null when a side ran too short (see `limit_check`). */
  of_limit: number | null;
  limit_check: Verdict['kind'];
  limit_check_reason: string | null;
}

const BASELINE_QUEUE = 'bench_baseline';
const ENQUEUE_CONCURRENCY = 32;
const RUN_CONCURRENCY = 100; // agentpg's default runConcurrency

export async function measureThroughput(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<ThroughputValue>> {
  // Seconds per side on an idle 2-core machine at ~1,000/s, above MIN_SPAN_S / MIN_JOBS with room.
  const n = ctx.quick ? 3000 : 10000;
  const sessions = Math.max(1, Math.floor(n / 5));
  const prompt = 'Say ok.';
  const notes: string[] = [];
  // CPU per run of each side's worker, the model process and PostgreSQL (bench/lib/cpu.ts): the
  // whole server's tree when it is the benchmark's own, else the database's backends.
  const [{ pid: backendPid }] = await db.query<{ pid: number }>('select pg_backend_pid() as pid');
  const postmaster = ctx.server.kind === 'embedded' ? parentPid(backendPid) : null;
  const probe = (worker: number): CpuProbe => ({
    worker,
    model: ctx.model.pid,
    postmaster,
    backends: async () =>
      (
        await db.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database() and application_name <> $1',
          [HARNESS_APP],
        )
      ).map((r) => r.pid),
  });

  // --- baseline: bare pg-boss + the same SDK call ---
  ctx.log(`throughput: baseline, ${n} bare pg-boss jobs`);
  const baseline = new Child(workerScript('baseline'), {
    label: 'baseline',
    env: {
      BENCH_BASELINE: JSON.stringify({
        databaseUrl: db.url,
        modelUrl: ctx.modelUrl,
        queue: BASELINE_QUEUE,
        concurrency: RUN_CONCURRENCY,
      }),
    },
  });
  await baseline.waitFor((m) => m.type === 'ready', 60_000, 'baseline ready');
  const bBefore = await costSnapshot(ctx.server.url, db.name);
  const bCpuBefore = await cpuSnapshot(probe(baseline.pid));
  const bPoll = await new CountingClient(db.url).connect();
  await baseline.request({ type: 'sendMany', count: n, sessions, concurrency: ENQUEUE_CONCURRENCY, prompt }, 300_000);
  await bPoll.waitForCount(
    `select count(*) as n from agentpg_boss.job where name = $1 and state = 'completed'`,
    [BASELINE_QUEUE],
    n,
    300_000,
  );
  const [bSpan] = await bPoll.query<{ span_s: number; n: string; created_ms: number; finished_ms: number[] }>(
    `select extract(epoch from max(completed_on) - min(created_on))::float8 as span_s, count(*) as n,
            extract(epoch from min(created_on))::float8 * 1000 as created_ms,
            array_agg(extract(epoch from completed_on)::float8 * 1000) as finished_ms
     from agentpg_boss.job where name = $1 and state = 'completed'`,
    [BASELINE_QUEUE],
  );
  const bCpuAfter = await cpuSnapshot(probe(baseline.pid));
  await bPoll.end();
  await baseline.request({ type: 'stop' }, 30_000).catch(() => baseline.kill());
  await baseline.wait();
  await sleep(1500);
  const bAfter = await costSnapshot(ctx.server.url, db.name);
  const baselineCost = costDelta(bBefore, bAfter, n, bPoll.statements);
  const baselineRate = n / bSpan.span_s;

  // --- agentpg: one instance, enqueue + execute ---
  ctx.log(`throughput: agentpg, ${n} single-turn runs`);
  const instanceId = 'bench-throughput';
  const worker = new Child(workerScript('instance'), {
    label: 'agentpg',
    env: {
      BENCH_WORKER: JSON.stringify({
        databaseUrl: db.url,
        instanceId,
        modelUrl: ctx.modelUrl,
        agents: true,
        runConcurrency: RUN_CONCURRENCY,
      }),
    },
  });
  await worker.waitFor((m) => m.type === 'ready', 60_000, 'agentpg instance ready');
  const before = await costSnapshot(ctx.server.url, db.name);
  const poll = await new CountingClient(db.url).connect();
  const modelBefore = (await ctx.model.request({ type: 'stats' })) as unknown as { completed: number };
  const cpuBefore = await cpuSnapshot(probe(worker.pid));
  await worker.request(
    { type: 'enqueueMany', agent: 'bench', count: n, sessions, concurrency: ENQUEUE_CONCURRENCY, prompt },
    600_000,
  );
  await poll.waitForCount(
    `select count(*) as n from agentpg_runs where agent_name = 'bench' and state in ('completed', 'failed', 'cancelled')`,
    [],
    n,
    600_000,
  );
  const [span] = await poll.query<{
    span_s: number;
    completed: string;
    failed: string;
    created_ms: number;
    finished_ms: number[];
    enqueue_span_s: number;
    queued_p50_ms: number;
    running_mean_ms: number;
    running_total_s: number;
  }>(
    `select extract(epoch from max(finalized_at) - min(created_at))::float8 as span_s,
            extract(epoch from max(created_at) - min(created_at))::float8 as enqueue_span_s,
            percentile_cont(0.5) within group (order by extract(epoch from started_at - created_at))::float8 * 1000 as queued_p50_ms,
            avg(extract(epoch from finalized_at - started_at))::float8 * 1000 as running_mean_ms,
            sum(extract(epoch from finalized_at - started_at))::float8 as running_total_s,
            count(*) filter (where state = 'completed') as completed,
            count(*) filter (where state <> 'completed') as failed,
            extract(epoch from min(created_at))::float8 * 1000 as created_ms,
            array_agg(extract(epoch from finalized_at)::float8 * 1000) as finished_ms
     from agentpg_runs where agent_name = 'bench'`,
  );
  const cpuAfter = await cpuSnapshot(probe(worker.pid));
  await poll.end();
  const modelAfter = (await ctx.model.request({ type: 'stats' })) as unknown as { completed: number };
  // Stopping the instance closes its connections: their backends flush their statistics on exit.
  await worker.request({ type: 'stop' }, 60_000).catch(() => worker.kill());
  await worker.wait();
  await sleep(1500);
  const after = await costSnapshot(ctx.server.url, db.name);
  const cost = costDelta(before, after, n, poll.statements);
  const rate = Number(span.completed) / span.span_s;
  if (Number(span.failed) > 0) notes.push(`${span.failed} of ${n} runs did not complete`);
  const baselineSide: SideRun = {
    label: 'bare pg-boss',
    jobs: Number(bSpan.n),
    spanS: bSpan.span_s,
    longestGapMs: longestGapMs(bSpan.created_ms, bSpan.finished_ms),
  };
  const agentpgSide: SideRun = {
    label: 'agentpg',
    jobs: Number(span.completed),
    spanS: span.span_s,
    longestGapMs: longestGapMs(span.created_ms, span.finished_ms),
  };
  const verdict = judgeThroughput(agentpgSide, baselineSide);
  if (verdict.kind !== 'ok') notes.push(verdict.reason);

  // --- the limit: the same model calls, no database (bench/workers/limit.ts) ---
  ctx.log(`throughput: no-database limit, ${n} model calls`);
  const limit = await measureLimitSide(ctx, { count: n, sessions, concurrency: RUN_CONCURRENCY, prompt }, (pid) =>
    cpuSnapshot(probe(pid)),
  ).catch((err: Error) => {
    notes.push(`no-database limit not measured: ${err.message.split('\n')[0]}`);
    return null;
  });
  const limitVerdict = limit
    ? judgeThroughput(agentpgSide, limit.side, { baseline: 'limit', measured: 'agentpg' })
    : null;
  if (limit && limit.failed > 0)
    notes.push(`${limit.failed} of ${n} no-database limit calls failed: ${limit.lastError}`);
  if (limitVerdict && limitVerdict.kind !== 'ok') notes.push(`of_limit: ${limitVerdict.reason}`);
  if (ctx.server.kind === 'external')
    notes.push('WAL is server-wide: other activity on the shared server inflates wal_bytes');

  return {
    value: {
      runs_throughput: {
        runs_per_s: round(rate, 1),
        baseline_jobs_per_s: round(baselineRate, 1),
        ratio: round(verdict.ratio, 3),
        check: verdict.kind,
        check_reason: verdict.kind === 'ok' ? null : verdict.reason,
        ...(limit && limitVerdict
          ? {
              limit_calls_per_s: round(limit.side.jobs / limit.side.spanS, 1),
              of_limit: round(limitVerdict.ratio, 3),
              limit_check: limitVerdict.kind,
              limit_check_reason: limitVerdict.kind === 'ok' ? null : limitVerdict.reason,
            }
          : {}),
      },
      db_cost_per_run: { commits: round(cost.commits, 2), wal_bytes: round(cost.wal_bytes, 0) },
    },
    details: {
      runs: n,
      sessions,
      enqueue_concurrency: ENQUEUE_CONCURRENCY,
      run_concurrency: RUN_CONCURRENCY,
      agentpg_span_s: round(span.span_s, 3),
      // Where the agentpg side's wall time went: how long the enqueue lasted (first to last
      // created_at), how long a run waited to be claimed, how long it ran, and how many ran at once
      // on average (the run time summed over the span; runConcurrency caps it).
      agentpg_enqueue_span_s: round(span.enqueue_span_s, 3),
      agentpg_queued_p50_ms: round(span.queued_p50_ms, 1),
      agentpg_running_mean_ms: round(span.running_mean_ms, 1),
      agentpg_mean_running: round(span.running_total_s / span.span_s, 1),
      baseline_span_s: round(bSpan.span_s, 3),
      agentpg_longest_gap_ms: round(agentpgSide.longestGapMs, 0),
      baseline_longest_gap_ms: round(baselineSide.longestGapMs, 0),
      limit_span_s: limit ? round(limit.side.spanS, 3) : null,
      limit_longest_gap_ms: limit ? round(limit.side.longestGapMs, 0) : null,
      limit_peak_in_flight: limit?.peakInFlight ?? null,
      model_calls_limit: limit?.modelCalls ?? null,
      model_calls_agentpg: modelAfter.completed - modelBefore.completed,
      agentpg_commits_total: cost.commits_total,
      agentpg_wal_bytes_total: cost.wal_bytes_total,
      baseline_commits_per_job: round(baselineCost.commits, 2),
      baseline_wal_bytes_per_job: round(baselineCost.wal_bytes, 0),
      harness_statements_subtracted: poll.statements,
      // CPU ms per run (per job, per call) by process: `instance` is the side's own worker process.
      cpu_ms_per_run: {
        agentpg: cpuMsPerUnit(cpuBefore, cpuAfter, n),
        limit: limit?.cpuMsPerCall ?? null,
        baseline: cpuMsPerUnit(bCpuBefore, bCpuAfter, n),
      },
      cpu_postgres_scope: postmaster !== null ? 'server' : 'database_backends',
    },
    notes,
  };
}
