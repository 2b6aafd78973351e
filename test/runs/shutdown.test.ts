import { afterAll, describe, expect, it } from 'vitest';
import { defineAgent, type AgentPG } from '../../src/index.js';
import { type FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL, startClient, untilRunState } from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let a: AgentPG | null = null;
let b: AgentPG | null = null;
const agents = [defineAgent({ name: 'chat', model: MODEL })];

test.beforeAll(async ({ db: testDb, fake: testFake }) => {
  db = testDb;
  fake = testFake;
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

describe('graceful stop', () => {
  it('lets a run finish within shutdownTimeoutMs', async () => {
    fake.reset();
    fake.enqueue({ text: 'made it', latencyMs: 300 });
    const client = await startClient(db, fake, { agents, shutdownTimeoutMs: 10_000 });
    const sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'drain' });
    const runId = await client.agent('chat').enqueue(sessionId, 'hi');
    await untilRunState(client, runId, 'running');
    await client.stop();
    const [row] = await db.query(`select state, response_text from agentpg_runs where id = $1`, [runId]);
    expect(row).toEqual({ state: 'completed', response_text: 'made it' });
  });

  it('hands a run still running at the timeout back unfailed; another instance resumes it', async () => {
    fake.reset();
    fake.enqueue({ text: 'never delivered', latencyMs: 30_000 }, { text: 'resumed elsewhere' });
    a = await startClient(db, fake, { agents, shutdownTimeoutMs: 300 });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'handback' });
    const runId = await a.agent('chat').enqueue(sessionId, 'hi');
    await fake.waitForRequests(1, 10_000);
    b = await startClient(db, fake, { agents });
    const t0 = Date.now();
    await a.stop();
    a = null;
    expect(Date.now() - t0).toBeLessThan(15_000); // the timeout (300 ms), not the 30 s model call
    // Still running (not failed): handed back, not given up.
    const [mid] = await db.query(`select state from agentpg_runs where id = $1`, [runId]);
    expect(mid.state).toBe('running');
    const run = await b.runs.wait(runId, { timeoutMs: 30_000 });
    expect(run).toMatchObject({
      state: 'completed',
      responseText: 'resumed elsewhere',
      instanceId: b.instanceId,
      attempts: 2,
    });
    expect(fake.requests[0].aborted).toBe(true);
  });
});
