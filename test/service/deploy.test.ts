import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { json, startService } from '../helpers/service.js';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

async function waitForRun(base: string, id: string, headers: Record<string, string> = {}) {
  for (let i = 0; i < 300; i++) {
    const run = await json(await fetch(`${base}/v1/runs/${id}`, { headers }));
    if (['completed', 'failed', 'cancelled'].includes(run.state)) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

describe('deploying the service', () => {
  let db: TestDatabase;
  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
  });

  it('two service processes on one DATABASE_URL share the work', async () => {
    // Two runs at a time per instance, each model call 300 ms: 16 runs need both instances.
    const env = {
      DATABASE_URL: db.url,
      ANTHROPIC_API_KEY: undefined,
      AGENTPG_RUN_CONCURRENCY: '2',
      AGENTPG_FAKE_LATENCY_MS: '300',
    };
    const a = await startService(env);
    const b = await startService(env);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 16; i++) {
        // Separate sessions, so runs are free to spread over both instances.
        const s = await json(await post(`${a.url}/v1/sessions`, { agent: 'chat', tenantId: 't', identifier: `u${i}` }));
        ids.push(
          (await json(await post(`${(i % 2 ? a : b).url}/v1/runs`, { sessionId: s.id, prompt: `hello ${i}` }))).id,
        );
      }
      const runs = await Promise.all(ids.map((id) => waitForRun(b.url, id)));
      expect(runs.every((r) => r.state === 'completed')).toBe(true);
      const executedBy = new Set(runs.map((r) => r.instanceId));
      expect(executedBy.size).toBe(2);
      const instances = await db.query(`select count(*)::int as n from agentpg_instances`);
      expect(instances[0].n).toBe(2);
      // Both instances registered the agents, so both can execute them.
      const links = await db.query(
        `select count(distinct instance_id)::int as n from agentpg_instance_agents where agent_name = 'chat'`,
      );
      expect(links[0].n).toBe(2);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(await db.query(`select * from agentpg_instances`)).toHaveLength(0);
  });

  it('with AGENTPG_API_TOKEN every route but the probes needs the bearer token', async () => {
    const s = await startService({
      DATABASE_URL: db.url,
      ANTHROPIC_API_KEY: undefined,
      AGENTPG_API_TOKEN: 'sekret-token',
    });
    try {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      const denied = await fetch(`${s.url}/v1/agents`);
      expect(denied.status).toBe(401);
      expect((await json(denied)).error.type).toBe('authentication_error');
      expect((await fetch(`${s.url}/v1/agents`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${s.url}/v1/agents`, { headers: { authorization: 'Bearer sekret-token' } })).status).toBe(
        200,
      );
      expect(s.output()).not.toContain('sekret-token');
    } finally {
      await s.stop();
    }
  });

  it('never writes the API key or the database password to logs or stored errors', async () => {
    const fake = await startFakeAnthropic();
    fake.setResponder(() => ({ error: { status: 401, message: 'invalid x-api-key' } }));
    const apiKey = 'sk-ant-api03-THIS-IS-A-SECRET-KEY-0123456789';
    const s = await startService({
      DATABASE_URL: db.url,
      ANTHROPIC_API_KEY: apiKey,
      ANTHROPIC_BASE_URL: fake.url,
      LOG_LEVEL: 'debug',
    });
    try {
      const session = await json(
        await post(`${s.url}/v1/sessions`, { agent: 'chat', tenantId: 't', identifier: 'secret-test' }),
      );
      const { id } = await json(await post(`${s.url}/v1/runs`, { sessionId: session.id, prompt: 'hi' }));
      const run = await waitForRun(s.url, id);
      expect(run).toMatchObject({ state: 'failed', errorType: 'authentication_error' });
      // The credential as it would appear in a leaked connection string.
      const password = new URL(db.url).password ? `:${new URL(db.url).password}@` : '';
      for (const text of [
        s.output(),
        JSON.stringify(run),
        JSON.stringify(await db.query(`select * from agentpg_runs`)),
      ]) {
        expect(text).not.toContain(apiKey);
        if (password) expect(text).not.toContain(password);
      }
      expect(fake.requests[0].headers['x-api-key'] ?? fake.requests[0].headers.authorization).toBe('[REDACTED]');
    } finally {
      await s.stop();
      await fake.close();
    }
  });

  it('starts, lists and stops a long-running agent over HTTP', async () => {
    const s = await startService({ DATABASE_URL: db.url, ANTHROPIC_API_KEY: undefined });
    try {
      const created = await post(`${s.url}/v1/long-running`, {
        id: 'watch-1',
        kind: 'watcher',
        config: { intervalMs: 200 },
      });
      expect(created.status).toBe(201);
      let agent: any;
      for (let i = 0; i < 100; i++) {
        agent = (await json(await fetch(`${s.url}/v1/long-running`))).find((a: any) => a.id === 'watch-1');
        if (agent?.checkpoint?.ticks >= 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(agent.checkpoint.ticks).toBeGreaterThanOrEqual(1);
      expect(agent.active).toBe(true);
      const stopped = await json(await post(`${s.url}/v1/long-running/watch-1/stop`, {}));
      expect(stopped.active).toBe(false);
      expect((await post(`${s.url}/v1/long-running/nope/stop`, {})).status).toBe(404);
      expect((await post(`${s.url}/v1/long-running`, { kind: 'nope' })).status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});

describe('zero-config start (no DATABASE_URL, no ANTHROPIC_API_KEY)', () => {
  it('keeps its data in a local embedded Postgres across a restart', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpg-svc-'));
    fs.chmodSync(parent, 0o755); // as root, Postgres runs as the postgres user and must reach the folder
    const dataDir = path.join(parent, 'pgdata');
    const env = { DATABASE_URL: undefined, ANTHROPIC_API_KEY: undefined, AGENTPG_DATA_DIR: dataDir };
    let runId: string;
    const first = await startService(env);
    try {
      expect(first.output()).toContain(dataDir);
      const s = await json(await post(`${first.url}/v1/sessions`, { agent: 'chat', tenantId: 't', identifier: 'u' }));
      runId = (await json(await post(`${first.url}/v1/runs`, { sessionId: s.id, prompt: 'remember me' }))).id;
      expect((await waitForRun(first.url, runId)).state).toBe('completed');
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await startService(env);
    try {
      const run = await json(await fetch(`${second.url}/v1/runs/${runId}`));
      expect(run.state).toBe('completed');
      expect(run.prompt).toBe('remember me');
    } finally {
      await second.stop();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  }, 180_000);
});
