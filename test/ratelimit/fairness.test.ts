import { describe, expect } from 'vitest';
import { defineAgent } from '../../src/index.js';
import { test } from '../helpers/fixtures.js';

const MODEL = 'claude-fair';

describe('fairness across tenants', () => {
  test('a tenant with few runs is not starved by one with many when capacity is scarce', async ({
    fake,
    startClient,
  }) => {
    // One request per second after a burst of 4: 20 runs need about 16 s.
    fake.setRateLimit({ requestsPerWindow: 4, windowSeconds: 4 });
    const client = await startClient({
      agents: [defineAgent({ name: 'fair', model: MODEL, maxTokens: 20 })],
      runConcurrency: 30,
      rateLimits: { maxWaitInPlaceMs: 30_000 },
    });
    const agent = client.agent('fair');
    const enqueue = async (tenantId: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const s = await agent.newSession({ tenantId, identifier: `${tenantId}-${i}` });
          return agent.enqueue(s, `${tenantId} ${i}`);
        }),
      );
    const heavy = await enqueue('heavy', 16);
    await fake.waitForRequests(4, 20_000); // the burst went to the heavy tenant, which now waits
    const light = await enqueue('light', 3);
    const runs = await Promise.all([...heavy, ...light].map((id) => client.runs.wait(id, { timeoutMs: 90_000 })));
    fake.setRateLimit(undefined);
    for (const r of runs) expect(r.state).toBe('completed');

    const order = fake.requests
      .filter((r) => r.body.model === MODEL && r.status === 200)
      .map((r) => (JSON.stringify(r.body.messages).includes('light') ? 'light' : 'heavy'));
    expect(order).toHaveLength(19);
    // The light tenant (fewer recent grants) goes first whenever it waits: its three calls are the
    // next ones after the burst (measured: positions 4-6), not spread among the heavy tenant's
    // backlog of 12 as with the fairness rule off (measured: 4, 9, 13).
    const lastLight = order.lastIndexOf('light');
    expect(lastLight).toBeLessThanOrEqual(7);
  });
});
