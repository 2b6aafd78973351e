import { describe, expect, it } from 'vitest';
import { judgeThroughput, longestGapMs, stalled, tooShort, type SideRun } from '../../bench/lib/comparison.js';
import { tableRows, throughputCell, type BenchResults } from '../../bench/lib/report.js';

const side = (label: string, jobs: number, spanS: number, longestGapMs = 5): SideRun => ({
  label,
  jobs,
  spanS,
  longestGapMs,
});

describe('longestGapMs', () => {
  it('counts the wait for the first finish and the gaps between finishes, in any order', () => {
    expect(longestGapMs(1000, [1010, 1020, 1030])).toBe(10);
    expect(longestGapMs(1000, [1030, 1250, 1010])).toBe(220);
    // The wait before the first finish counts: a worker asleep from the start.
    expect(longestGapMs(0, [30_700, 30_705])).toBe(30_700);
    expect(longestGapMs(0, [])).toBe(0);
  });
});

describe('judgeThroughput', () => {
  it('gives the ratio when both sides ran long enough without a stall', () => {
    // The last full run before this check existed: 2,500 runs in 2.09 s vs 2,500 jobs in 2.54 s.
    const v = judgeThroughput(side('agentpg', 2500, 2.094), side('bare pg-boss', 2500, 2.539));
    expect(v.kind).toBe('ok');
    expect(v.ratio).toBeCloseTo(1.2125, 3);
  });

  it('withholds the ratio when the baseline ran too short', () => {
    // The quick run that printed 28.99 ✓: 300 runs in 1.13 s vs 300 jobs in 32.6 s, 30.7 s of it
    // asleep. Too few jobs on either side to print a ratio at all (the stall is also there).
    const v = judgeThroughput(side('agentpg', 300, 1.13), side('bare pg-boss', 300, 32.6, 30_700));
    expect(v.kind).toBe('too_short');
    expect(v.ratio).toBeNull();
    expect(v.kind === 'too_short' && v.reason).toBe(
      'baseline too short: bare pg-boss ran 300 jobs < 1000; agentpg ran 1.1 s < 2 s, 300 jobs < 1000',
    );
  });

  it('withholds the ratio when only the measured side ran too short', () => {
    const v = judgeThroughput(side('agentpg', 4000, 1.6), side('bare pg-boss', 4000, 4.1));
    expect(v).toEqual({ kind: 'too_short', ratio: null, reason: 'measured side too short: agentpg ran 1.6 s < 2 s' });
  });

  it('flags a stalled side: the ratio stays, the reason says which side slept and how long', () => {
    const v = judgeThroughput(side('agentpg', 4000, 3.4), side('bare pg-boss', 4000, 34.3, 30_712));
    expect(v.kind).toBe('stalled');
    expect(v.ratio).toBeCloseTo(4000 / 3.4 / (4000 / 34.3), 6);
    expect(v.kind === 'stalled' && v.reason).toBe(
      'stalled: bare pg-boss finished nothing for 30.7 s of 34.3 s (> 3.4 s)',
    );
  });

  it('a busy machine pausing both sides for seconds in a long window is not a stall', () => {
    // Measured at load 22 on 2 cores: 4,000 each, pauses of 2.8 s and 2.6 s in 51 s and 68 s.
    const v = judgeThroughput(side('agentpg', 4000, 51.27, 2779), side('bare pg-boss', 4000, 67.6, 2626));
    expect(v.kind).toBe('ok');
    expect(v.ratio).toBeCloseTo(67.6 / 51.27, 6);
  });

  it('a pause at the limit is not a stall; a side exactly at the minimum is long enough', () => {
    // Limit: the larger of 1 s and a tenth of the span.
    expect(stalled(side('x', 1000, 2, 1000))).toBeNull();
    expect(stalled(side('x', 1000, 2, 1001))).toBe('x finished nothing for 1 s of 2 s (> 1 s)');
    expect(stalled(side('x', 1000, 30, 3000))).toBeNull();
    expect(stalled(side('x', 1000, 30, 3001))).not.toBeNull();
    expect(tooShort(side('x', 1000, 2))).toBeNull();
    expect(tooShort(side('x', 999, 2))).toBe('x ran 999 jobs < 1000');
  });
});

describe('the throughput row', () => {
  const base = { runs_per_s: 1194.1, baseline_jobs_per_s: 984.8 };

  it('prints the ratio with its mark only when the check passed', () => {
    expect(throughputCell({ ...base, ratio: 1.213, check: 'ok', check_reason: null })).toBe(
      '1,194.1 runs/s, ratio 1.213 ✓',
    );
  });

  it('prints why instead of a ratio for a too-short baseline', () => {
    const cell = throughputCell({
      ...base,
      ratio: null,
      check: 'too_short',
      check_reason: 'baseline too short: bare pg-boss ran 0.3 s < 2 s',
    });
    expect(cell).toBe('1,194.1 runs/s, baseline too short: bare pg-boss ran 0.3 s < 2 s');
    expect(cell).not.toMatch(/ratio|✓/);
  });

  it('flags a stalled side instead of a ✓', () => {
    const cell = throughputCell({
      runs_per_s: 266.5,
      baseline_jobs_per_s: 9.2,
      ratio: 28.99,
      check: 'stalled',
      check_reason: 'stalled: bare pg-boss finished nothing for 30.7 s of 32.6 s (> 3.3 s)',
    });
    expect(cell).toBe(
      '266.5 runs/s, ratio 28.99 ⚠ stalled: bare pg-boss finished nothing for 30.7 s of 32.6 s (> 3.3 s)',
    );
    expect(cell).not.toContain('✓');
  });
});

describe('tableRows', () => {
  const results: BenchResults = {
    runs_throughput: { runs_per_s: 1194.1, baseline_jobs_per_s: 984.8, ratio: 1.213, check: 'ok', check_reason: null },
    db_cost_per_run: { commits: 0.43, wal_bytes: 3952 },
    concurrency: null,
    enqueue_to_start_ms: { p50: 2.69, p99: 6.05 },
    event_latency_ms: null,
    enqueue_in_tx_ms: null,
    failover_sigkill_ms: { p50: 288, max: 485, trials: 20 },
    failover_partition_ms: { p50: 7993, max: 8027, overlaps: 0, redis_ttl_baseline_p50: 25133 },
    ownership_scale: null,
    rss_mb_10k_agents: null,
    meta: {},
    details: { throughput: { baseline_commits_per_job: 2.02, baseline_wal_bytes_per_job: 2345 } },
  };
  const rows = tableRows(results);
  const row = (m: string) => rows.find((r) => r.metric === m)!;

  it('keeps figures not measured in this run out of the same-run column', () => {
    expect(row('enqueue_to_start_ms').sameRun).toBe('');
    expect(row('enqueue_to_start_ms').earlier).toContain('not measured');
    expect(row('db_cost_per_run').sameRun).toBe('bare pg-boss job: 2.02 commits, 2,345 B WAL');
    expect(row('db_cost_per_run').earlier).toContain('naive design');
    for (const r of rows) expect(r.sameRun).not.toMatch(/naive|published|500-2,000/);
  });

  it('compares the Redis TTL lock with the lost owner (partition), not with the SIGKILL', () => {
    expect(row('failover_sigkill_ms').sameRun).toBe('');
    expect(row('failover_partition_ms').sameRun).toBe('Redis 30 s TTL lock, owner lost: p50 25,133');
  });

  it('puts the floor of the latencies, a bare commit measured in this run, in the same-run column', () => {
    const withFloor = tableRows({
      ...results,
      resume_after_decision_ms: { p50: 7.65, p99: 15.57 },
      child_run_start_ms: { p50: 13.69, p99: 25.46, samples: 300 },
      details: { ...results.details, commit_latency_ms: { p50: 4.1, p99: 9, samples: 200 } },
    });
    const r = (m: string) => withFloor.find((x) => x.metric === m)!;
    // The enqueue's commit and the claim's.
    expect(r('enqueue_to_start_ms').sameRun).toBe('floor: 2 commits on the path, a bare commit p50 8.20 ms (4.1 each)');
    expect(r('resume_after_decision_ms').sameRun).toBe('floor: 1 commit on the path, a bare commit p50 4.10 ms');
    expect(r('child_run_start_ms').sameRun).toBe('floor: 2 commits on the path, a bare commit p50 8.20 ms (4.1 each)');
    expect(r('child_run_start_ms').compares).toContain('the floor');
    // Without the measurement no floor is claimed.
    expect(row('resume_after_decision_ms').sameRun).toBe('');
  });

  it('shows graphile-worker and pg-boss beside enqueue_to_start and marks p50 against graphile-worker', () => {
    const e2s = (v: BenchResults['enqueue_to_start_ms']) =>
      tableRows({ ...results, enqueue_to_start_ms: v }).find((x) => x.metric === 'enqueue_to_start_ms')!;
    const slower = e2s({ p50: 6.2, p99: 20, graphile_worker_p50: 5.75, pgboss_p50: 13.49 });
    expect(slower.sameRun).toBe('graphile-worker p50 5.75, pg-boss p50 13.49');
    expect(slower.measured).toBe('p50 6.2 ✗ (vs graphile-worker ✗), p99 20 ✓');
    expect(slower.compares).toContain('graphile-worker addJob');
    expect(e2s({ p50: 4, p99: 20, graphile_worker_p50: 5.75, pgboss_p50: null }).measured).toBe(
      'p50 4 ✓ (vs graphile-worker ✓), p99 20 ✓',
    );
    // A baseline that did not run: no mark against it, its figure n/a.
    const none = e2s({ p50: 4, p99: 20, graphile_worker_p50: null, pgboss_p50: 13 });
    expect(none.measured).toBe('p50 4 ✓, p99 20 ✓');
    expect(none.sameRun).toBe('graphile-worker p50 n/a, pg-boss p50 13');
  });

  it('says in one line what each comparison compares', () => {
    for (const m of ['runs_throughput', 'db_cost_per_run', 'enqueue_to_start_ms', 'failover_partition_ms']) {
      expect(row(m).compares).not.toBe('');
      expect(row(m).compares).not.toContain('\n');
    }
  });
});
