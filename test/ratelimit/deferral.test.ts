import { describe, expect } from 'vitest';
import { defineAgent, type RunStepName } from '../../src/index.js';
import { test } from '../helpers/fixtures.js';

const MODEL = 'claude-configured';

describe('a configured limit, and runs that wait for capacity without holding a slot', () => {
  test('runs past the limit are handed back to their jobs and resumed when capacity is due', async ({
    db,
    fake,
    startClient,
  }) => {
    const steps: RunStepName[] = [];
    // 12 requests per minute: 12 at once (a full bucket), then one every 5 s. No headers from this
    // fake: the configured limit alone applies.
    const client = await startClient({
      agents: [defineAgent({ name: 'patient', model: MODEL, maxTokens: 50 })],
      rateLimits: { models: { [MODEL]: { requestsPerMinute: 12 } }, maxWaitInPlaceMs: 500 },
      runConcurrency: 20,
      onRunStep: (step) => void steps.push(step),
    });
    const agent = client.agent('patient');
    const ids = await Promise.all(
      Array.from({ length: 14 }, async (_, i) => {
        const session = await agent.newSession({ tenantId: 't1', identifier: `patient-${i}` });
        return agent.enqueue(session, `hello ${i}`);
      }),
    );
    const runs = await Promise.all(ids.map((id) => client.runs.wait(id, { timeoutMs: 60_000 })));
    for (const r of runs) expect(r.state).toBe('completed');

    const calls = fake.requests.filter((r) => r.body.model === MODEL).map((r) => r.receivedAt.getTime());
    expect(calls).toHaveLength(14);
    calls.sort((a, b) => a - b);
    // The 13th waited for one refill (5 s after the first grant, which may reach the API late on a
    // busy machine), the 14th for one more.
    expect(calls[12] - calls[0]).toBeGreaterThanOrEqual(2_000);
    expect(calls[13] - calls[12]).toBeGreaterThanOrEqual(3_500);

    // They waited handed back (not in a worker slot, not counted as crashes): step rate_limit_deferred.
    const deferred = await db.query<{ n: number; runs: number }>(
      `select coalesce(sum(rate_limit_deferrals), 0)::int as n, count(*) filter (where rate_limit_deferrals > 0)::int as runs
         from agentpg_runs where id = any($1::uuid[])`,
      [ids],
    );
    expect(deferred[0].runs).toBeGreaterThanOrEqual(2);
    expect(steps.filter((s) => s === 'rate_limit_deferred').length).toBe(deferred[0].n);
    // A deferred run resumes from its last step: its only model call was made once.
    expect(runs.every((r) => r.attempts >= 1 && r.attempts - r.rateLimitDeferrals === 1)).toBe(true);
  });

  test('a deferred run is fetched when its capacity is due, not at the next backstop poll', async ({
    fake,
    startClient,
  }) => {
    // 20 requests per minute: 20 at once, the 21st due 3 s later. The backstop poll is set to 10
    // minutes: a run resumed only by it would time out here. The worker that deferred the run
    // fetches it when its job comes due.
    const client = await startClient({
      agents: [defineAgent({ name: 'due', model: 'claude-due', maxTokens: 50 })],
      rateLimits: { models: { 'claude-due': { requestsPerMinute: 20 } }, maxWaitInPlaceMs: 200 },
      runConcurrency: 30,
      runPollIntervalMs: 600_000,
    });
    const agent = client.agent('due');
    const ids = await Promise.all(
      Array.from({ length: 21 }, async (_, i) => {
        const session = await agent.newSession({ tenantId: 't1', identifier: `due-${i}` });
        return agent.enqueue(session, `hello ${i}`);
      }),
    );
    const runs = await Promise.all(ids.map((id) => client.runs.wait(id, { timeoutMs: 60_000 })));
    for (const r of runs) expect(r.state).toBe('completed');
    expect(runs.some((r) => r.rateLimitDeferrals > 0)).toBe(true);
    expect(fake.requests.filter((r) => r.body.model === 'claude-due')).toHaveLength(21);
  });
});
