import { describe, expect } from 'vitest';
import { defineAgent, type AgentPG } from '../../src/index.js';
import { listRateLimits } from '../../src/ratelimit/index.js';
import { test } from '../helpers/fixtures.js';

const API_KEY = 'sk-ant-test-secret-key-123'; // test/runs/helpers.ts startClient's key

async function runAll(client: AgentPG, agent: string, n: number, tenantId = 't1'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const session = await client.agent(agent).newSession({ tenantId, identifier: `${agent}-${i}-${Math.random()}` });
    ids.push(await client.agent(agent).enqueue(session, `hello ${i}`));
  }
  return ids;
}

async function waitAll(client: AgentPG, ids: string[], timeoutMs = 60_000): Promise<void> {
  const runs = await Promise.all(ids.map((id) => client.runs.wait(id, { timeoutMs })));
  for (const r of runs) expect(r.state).toBe('completed');
}

describe('cluster-wide rate limits learned from the API', () => {
  test('two clients learn the limit and window from the headers and stay under it', async ({
    db,
    fake,
    startClient,
  }) => {
    // 5 requests per 3 s: 15 runs need about 6 s, and every one of them would be a 429 without the limiter.
    fake.setRateLimit({ requestsPerWindow: 5, windowSeconds: 3 });
    const agents = [defineAgent({ name: 'learner', model: 'claude-learn', maxTokens: 50 })];
    const a = await startClient({ agents });
    const b = await startClient({ agents });
    const ids = [...(await runAll(a, 'learner', 8)), ...(await runAll(b, 'learner', 7))];
    await waitAll(a, ids);
    fake.setRateLimit(undefined);

    expect(fake.stats.rateLimited).toBe(0);
    const [row] = (await listRateLimits(db.pool)).filter((r) => r.model === 'claude-learn');
    expect(row.requestsLimit).toBe(5);
    // The window is learned from limit, remaining and reset (3 s), not assumed to be a minute. The
    // reset is an RFC 3339 time read against this machine's clock at the response: within about
    // half a second of the fake's window (2,472 ms was seen in CI).
    expect(row.requestsWindowMs).toBeGreaterThan(2_000);
    expect(row.requestsWindowMs).toBeLessThan(4_000);
    expect(row.grants).toBeGreaterThanOrEqual(14); // the probe's grant is not counted
    expect(row.refusals).toBeGreaterThan(0);
    // The key is identified by a hash; it is stored nowhere.
    expect(row.keyHash).toMatch(/^[0-9a-f]{32}$/);
    const everything = JSON.stringify(await db.query(`select * from agentpg_rate_limits`));
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain('secret');
  });

  test('a 429 stops every instance until its retry-after, not just the one that got it', async ({
    fake,
    startClient,
  }) => {
    fake.setResponder((req) =>
      req.body.model === 'claude-block' && fake.requests.filter((r) => r.body.model === 'claude-block').length === 1
        ? { error: { status: 429, retryAfterSeconds: 2 } }
        : undefined,
    );
    const first = await startClient({ agents: [defineAgent({ name: 'blocked-a', model: 'claude-block' })] });
    const second = await startClient({ agents: [defineAgent({ name: 'blocked-b', model: 'claude-block' })] });
    const [runA] = await runAll(first, 'blocked-a', 1);
    await fake.waitForRequests(fake.stats.received + 1);
    await new Promise((r) => setTimeout(r, 200)); // the 429 is observed
    const others = await runAll(second, 'blocked-b', 2);
    await waitAll(first, [runA, ...others]);
    fake.setResponder(undefined);

    const calls = fake.requests.filter((r) => r.body.model === 'claude-block');
    expect(calls[0].status).toBe(429);
    // Nobody called the model again, on either client, before the 429's retry-after (2 s) was over.
    for (const c of calls.slice(1)) {
      expect(c.receivedAt.getTime() - calls[0].receivedAt.getTime()).toBeGreaterThanOrEqual(1_900);
      expect(c.status).toBe(200);
    }
  });

  test('a probe that never answers (its instance killed before the headers) holds the other calls back for 5 s at most', async ({
    db,
  }) => {
    const acquire = async () =>
      (
        await db.query(
          `select granted, wait_ms, probe from agentpg_rate_limit_acquire('claude-lost-probe', 'k', 't1', 10, 10, null, null, null)`,
        )
      )[0];
    expect(await acquire()).toMatchObject({ granted: true, probe: true });
    // Nothing observes the probe's answer: the others wait, in short sleeps, until its window ends.
    const waiting = await acquire();
    expect(waiting).toMatchObject({ granted: false, probe: false });
    const [{ window_ms }] = await db.query(
      `select extract(epoch from probing_until - refilled_at) * 1000 as window_ms
         from agentpg_rate_limits where model = 'claude-lost-probe'`,
    );
    expect(Number(window_ms)).toBe(5_000);
    // Once the window is over (moved back here rather than waited for), calls go without a limit.
    await db.query(
      `update agentpg_rate_limits set probing_until = now() - interval '1 millisecond' where model = 'claude-lost-probe'`,
    );
    expect(await acquire()).toMatchObject({ granted: true, probe: false });
  });

  test('a probe call that ends with no answer (its run cancelled) ends the probe at once', async ({
    db,
    fake,
    startClient,
  }) => {
    fake.setResponder((req) =>
      req.body.model === 'claude-cancelled-probe' ? { text: 'late', latencyMs: 60_000 } : undefined,
    );
    const client = await startClient({ agents: [defineAgent({ name: 'prober', model: 'claude-cancelled-probe' })] });
    const before = fake.stats.received;
    const [runId] = await runAll(client, 'prober', 1);
    await fake.waitForRequests(before + 1, 30_000);
    const [probing] = await db.query(
      `select probing_until from agentpg_rate_limits where model = 'claude-cancelled-probe'`,
    );
    expect(probing.probing_until).not.toBeNull();
    await client.runs.cancel(runId);
    expect((await client.runs.wait(runId, { timeoutMs: 30_000 })).state).toBe('cancelled');
    fake.setResponder(undefined);
    // The run ended after its call's catch: the probe was ended there, not left to its 5 s window.
    const [after] = await db.query(
      `select probing_until from agentpg_rate_limits where model = 'claude-cancelled-probe'`,
    );
    expect(after.probing_until).toBeNull();
  });
});
