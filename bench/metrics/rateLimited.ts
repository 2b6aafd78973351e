/**
 * rate_limited: three instances against a Messages API limited to N requests per window (the fake
 * API's own limit, src/testing/rateLimit.ts, with the real headers and 429s), saturated with more
 * runs than it allows. After a warm-up of one window from the first call (the API's bucket starts
 * full, and the limiter learns the limit and window from the first responses), over DURATION:
 *   limit_rpm    = the API's sustained rate, N per window, per minute
 *   achieved_rpm = calls answered 200 over that span, per minute
 *   ratio        = achieved_rpm / limit_rpm                       (target >= 0.9)
 *   share_429    = 429s / all calls, warm-up included            (target <= 0.01)
 * once with the cluster-wide limiter (the default), once with it off (`rateLimits.enabled: false`:
 * each call retries its own 429s, honouring retry-after: agentpg before the limiter), the same way
 * in the same run. The limiter learns N and the window from the headers; nothing is configured.
 */
import { AgentPG, defineAgent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { round } from '../lib/stats.js';

export interface RateLimitedSide {
  limit_rpm: number;
  achieved_rpm: number | null;
  ratio: number | null;
  share_429: number | null;
}

export interface RateLimitedValue extends RateLimitedSide {
  /** The same measurement with the limiter off (per-call retries only). */
  baseline: RateLimitedSide | null;
  duration_s: number;
}

const N = 60;
const WINDOW_S = 10;
const INSTANCES = 3;
const CONCURRENCY = 25;

export async function measureRateLimited(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<RateLimitedValue>> {
  // At least three windows: a ratio over less would mostly measure the initial full bucket.
  const durationMs = (ctx.quick ? 3 : 5) * WINDOW_S * 1000;
  ctx.log(`rate_limited: ${INSTANCES} instances, API limit ${N} per ${WINDOW_S} s, ${durationMs / 1000} s per side`);
  const limited = await measureSide(db, 'claude-bench-limited', true, durationMs);
  const baseline = await measureSide(db, 'claude-bench-unlimited', false, durationMs);
  return {
    value: { ...limited.side, baseline: baseline.side, duration_s: durationMs / 1000 },
    details: { limited: limited.counts, baseline: baseline.counts },
    notes: [
      'measured after a one-window warm-up (the full initial bucket; the limiter learns N and the window from the headers); share_429 includes the warm-up',
    ],
  };
}

async function measureSide(
  db: BenchDatabase,
  model: string,
  limiter: boolean,
  durationMs: number,
): Promise<{ side: RateLimitedSide; counts: Record<string, number> }> {
  const fake = await startFakeAnthropic({
    rateLimit: { requestsPerWindow: N, windowSeconds: WINDOW_S },
    latencyMs: 20,
  });
  const agents = [defineAgent({ name: `rl-${model}`, model, maxTokens: 64 })];
  const clients: AgentPG[] = [];
  try {
    for (let i = 0; i < INSTANCES; i++) {
      const c = new AgentPG({
        databaseUrl: db.url,
        anthropic: { apiKey: 'bench-key', baseURL: fake.url },
        agents,
        runConcurrency: CONCURRENCY,
        migrate: false,
        rateLimits: { enabled: limiter },
        shutdownTimeoutMs: 1000,
        logger: createLogger({ level: 'error' }),
      });
      await c.start();
      clients.push(c);
    }
    // Twice what the API allows over warm-up and span: demand never runs out.
    const allowance = 2 * N + (N * durationMs) / (WINDOW_S * 1000);
    const agent = clients[0].agent(`rl-${model}`);
    await Promise.all(
      Array.from({ length: Math.ceil(2 * allowance) }, async (_, i) => {
        const s = await agent.newSession({ tenantId: `t${i % 4}`, identifier: `${model}-${i}` });
        await agent.enqueue(s, `question ${i}`);
      }),
    );
    await fake.waitForRequests(1, 60_000);
    const start = fake.requests[0].receivedAt.getTime() + WINDOW_S * 1000;
    const end = start + durationMs;
    await new Promise((r) => setTimeout(r, end - Date.now()));
    const all = fake.requests.filter((r) => r.receivedAt.getTime() < end);
    const inSpan = all.filter((r) => r.receivedAt.getTime() >= start);
    const ok = inSpan.filter((r) => r.status === 200).length;
    const limitedCalls = all.filter((r) => r.status === 429).length;
    const perMinute = 60_000 / durationMs;
    const limitRpm = (N * 60) / WINDOW_S;
    return {
      side: {
        limit_rpm: limitRpm,
        achieved_rpm: round(ok * perMinute),
        ratio: round((ok * perMinute) / limitRpm),
        share_429: all.length > 0 ? round(limitedCalls / all.length, 4) : null,
      },
      counts: { calls: all.length, ok_after_warm_up: ok, rate_limited: limitedCalls },
    };
  } finally {
    for (const c of clients) await c.stop().catch(() => {});
    await fake.close().catch(() => {});
  }
}
