import { describe, expect, it } from 'vitest';
import { judgeThroughput, type SideRun } from '../../bench/lib/comparison.js';
import { callInSessionOrder, sessionTranscript, type SessionCall } from '../../bench/lib/limitCalls.js';
import { ofLimitCell, tableRows, type BenchResults } from '../../bench/lib/report.js';
import { withCacheBreakpoints } from '../../src/runs/promptCache.js';

const side = (label: string, jobs: number, spanS: number, longestGapMs = 5): SideRun => ({
  label,
  jobs,
  spanS,
  longestGapMs,
});

describe('sessionTranscript', () => {
  it("is the session's earlier exchanges, then this run's prompt, in the blocks agentpg stores", () => {
    expect(sessionTranscript('Say ok.', 0)).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Say ok.' }] }]);
    const third = sessionTranscript('Say ok.', 2);
    expect(third).toHaveLength(5);
    expect(third.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(third[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'ok' }] });
  });

  it('gets the executor breakpoints on its last two user turns', () => {
    const params = withCacheBreakpoints(
      { model: 'm', max_tokens: 64, messages: sessionTranscript('p', 2) },
      { tools: true, system: true, conversation: true },
    );
    const marked = params.messages.map((m) => (m.content as Array<{ cache_control?: unknown }>)[0].cache_control);
    expect(marked).toEqual([undefined, undefined, { type: 'ephemeral' }, undefined, { type: 'ephemeral' }]);
  });
});

/** A call that takes `ms` of fake time per call, recording what ran when. */
function recorder(ms = 1) {
  const calls: SessionCall[] = [];
  const open = new Set<number>();
  let overlapInSession = false;
  let t = 0;
  return {
    calls,
    get overlapInSession() {
      return overlapInSession;
    },
    now: () => t,
    call: async (c: SessionCall) => {
      if (open.has(c.session)) overlapInSession = true;
      open.add(c.session);
      calls.push(c);
      await new Promise((r) => setTimeout(r, ms));
      t += ms;
      open.delete(c.session);
    },
  };
}

describe('callInSessionOrder', () => {
  it('makes every call once, a session one call at a time in index order, with its history length', async () => {
    const rec = recorder();
    const r = await callInSessionOrder({ count: 50, sessions: 10, concurrency: 8, call: rec.call, now: rec.now });
    expect(r.finishedMs).toHaveLength(50);
    expect(r.failed).toBe(0);
    expect(rec.overlapInSession).toBe(false);
    expect(new Set(rec.calls.map((c) => c.index)).size).toBe(50);
    for (let s = 0; s < 10; s++) {
      const mine = rec.calls.filter((c) => c.session === s);
      expect(mine.map((c) => c.index)).toEqual([s, s + 10, s + 20, s + 30, s + 40]);
      expect(mine.map((c) => c.prior)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('keeps at most `concurrency` calls in flight, and reaches it when sessions allow', async () => {
    const rec = recorder(2);
    const r = await callInSessionOrder({ count: 60, sessions: 30, concurrency: 7, call: rec.call, now: rec.now });
    expect(r.peakInFlight).toBe(7);
  });

  it('fewer sessions than slots: the sessions bound the calls in flight', async () => {
    const rec = recorder(2);
    const r = await callInSessionOrder({ count: 40, sessions: 3, concurrency: 10, call: rec.call, now: rec.now });
    expect(r.peakInFlight).toBe(3);
    expect(rec.overlapInSession).toBe(false);
  });

  it('counts a failed call, leaves it out of the history, and goes on', async () => {
    const priors: number[] = [];
    const r = await callInSessionOrder({
      count: 4,
      sessions: 1,
      concurrency: 2,
      call: async (c) => {
        priors.push(c.prior);
        if (c.index === 1) throw new Error('boom');
      },
    });
    expect(r.failed).toBe(1);
    expect(r.finishedMs).toHaveLength(3);
    expect(priors).toEqual([0, 1, 1, 2]);
  });

  it('does nothing for zero calls', async () => {
    const r = await callInSessionOrder({ count: 0, sessions: 0, concurrency: 100, call: async () => {} });
    expect(r).toMatchObject({ finishedMs: [], failed: 0, peakInFlight: 0 });
  });
});

describe('of_limit', () => {
  const names = { baseline: 'limit', measured: 'agentpg' };

  it('is agentpg runs/s over the no-database calls/s when both ran long enough', () => {
    const v = judgeThroughput(side('agentpg', 3000, 3), side('no-database limit', 3000, 2.4), names);
    expect(v).toEqual({ kind: 'ok', ratio: 0.8 });
  });

  it('says which side was too short, by its own name', () => {
    const v = judgeThroughput(side('agentpg', 3000, 3), side('no-database limit', 3000, 1.2), names);
    expect(v).toEqual({
      kind: 'too_short',
      ratio: null,
      reason: 'limit too short: no-database limit ran 1.2 s < 2 s',
    });
    const m = judgeThroughput(side('agentpg', 900, 3), side('no-database limit', 3000, 2.5), names);
    expect(m.kind === 'too_short' && m.reason).toBe('agentpg too short: agentpg ran 900 jobs < 1000');
  });

  const t = { runs_per_s: 1000, baseline_jobs_per_s: 900, ratio: 1.11, check: 'ok' as const, check_reason: null };

  it('prints the ratio with its mark, no ratio for a too-short side, a flag for a stalled one', () => {
    expect(ofLimitCell({ ...t, limit_calls_per_s: 1200, of_limit: 0.833, limit_check: 'ok' })).toBe(
      '0.833 of the limit ✓',
    );
    expect(ofLimitCell({ ...t, limit_calls_per_s: 2000, of_limit: 0.5, limit_check: 'ok' })).toBe('0.5 of the limit ✗');
    const short = ofLimitCell({
      ...t,
      limit_calls_per_s: 2500,
      of_limit: null,
      limit_check: 'too_short',
      limit_check_reason: 'limit too short: no-database limit ran 1.2 s < 2 s',
    });
    expect(short).toBe('limit too short: no-database limit ran 1.2 s < 2 s');
    expect(
      ofLimitCell({
        ...t,
        limit_calls_per_s: 1100,
        of_limit: 0.9,
        limit_check: 'stalled',
        limit_check_reason: 'stalled: x',
      }),
    ).toBe('0.9 ⚠ stalled: x');
    expect(ofLimitCell(t)).toBe('n/a (the limit side did not run)');
  });

  it('has rows of its own beside runs_throughput and concurrency', () => {
    const results = {
      runs_throughput: { ...t, limit_calls_per_s: 1250, of_limit: 0.8, limit_check: 'ok', limit_check_reason: null },
      db_cost_per_run: null,
      concurrency: {
        in_flight: 2000,
        model_latency_ms: 5000,
        runs_per_s: 390,
        efficiency: 0.97,
        db_connections: 6,
        no_autovacuum: { in_flight: 1000, model_latency_ms: 5000, runs_per_s: 32, efficiency: 0.16, db_connections: 6 },
      },
      enqueue_to_start_ms: null,
      event_latency_ms: null,
      enqueue_in_tx_ms: null,
      failover_sigkill_ms: null,
      failover_partition_ms: null,
      ownership_scale: null,
      rss_mb_10k_agents: null,
      meta: {},
      details: {},
    } satisfies BenchResults;
    const rows = tableRows(results);
    const row = (m: string) => rows.find((r) => r.metric === m)!;
    expect(row('runs_throughput.of_limit').measured).toBe('0.8 of the limit ✓');
    expect(row('runs_throughput.of_limit').sameRun).toBe('no database, same SDK calls: 1,250 calls/s');
    expect(row('concurrency').measured).toBe('2,000 in flight ✓, eff 0.97 ✓, 6 conns ✓');
    expect(row('concurrency.no_autovacuum').measured).toBe('1,000 in flight ✗, eff 0.16 ✗, 6 conns ✓');
    // Without the newer fields: n/a, nothing compared.
    const old = tableRows({ ...results, runs_throughput: t, concurrency: null });
    expect(old.find((r) => r.metric === 'runs_throughput.of_limit')!.compares).toBe('');
    expect(old.find((r) => r.metric === 'concurrency.no_autovacuum')!.measured).toBe('n/a');
  });
});
