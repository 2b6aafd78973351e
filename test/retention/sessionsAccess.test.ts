// Retention's session routes and commands against a real database: export is tenant-scoped like
// every /v1 route; holds are set and lifted by admin and operator keys only; the CLI's sessions
// export/hold/release and retention status; the pass log surfaced in /readyz and /metrics.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { createApiKey } from '../../src/access/keys.js';
import { runCli } from '../../src/cli/main.js';
import { createHttpApp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import { test } from '../helpers/fixtures.js';
import { days, seedSession } from './seed.js';

test('export, holds, status: HTTP routes and CLI', async ({ db, startClient }) => {
  const client = await startClient();
  const app = createHttpApp(client, createMetrics(client, db.pool), { db: db.pool, isDraining: () => false });
  const admin = await createApiKey(db.pool, { role: 'admin', name: 'admin' });
  const operator = await createApiKey(db.pool, { role: 'operator', name: 'ops' });
  const tenantA = await createApiKey(db.pool, { role: 'tenant', tenantIds: ['a'], name: 'a' });
  const tenantB = await createApiKey(db.pool, { role: 'tenant', tenantIds: ['b'], name: 'b' });
  const call = async (method: string, p: string, key: string, body?: unknown) => {
    const res = await app.request(p, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const id = await seedSession(db.pool, {
    tenantId: 'a',
    runs: [{ state: 'completed', ageMs: days(3) }],
  });

  // Export: the session's tenant and cluster-wide keys; another tenant's key sees a 404.
  const exported = await call('GET', `/v1/sessions/${id}/export`, tenantA.key);
  expect(exported.status).toBe(200);
  expect(exported.body).toMatchObject({ format: 'agentpg.session.v1', session: { id, tenant_id: 'a' } });
  expect(exported.body.runs).toHaveLength(1);
  expect(exported.body.messages).toHaveLength(2);
  expect((await call('GET', `/v1/sessions/${id}/export`, operator.key)).status).toBe(200);
  expect((await call('GET', `/v1/sessions/${id}/export`, tenantB.key)).status).toBe(404);
  expect((await call('GET', `/v1/sessions/not-a-uuid/export`, admin.key)).status).toBe(404);

  // Holds: admin and operator only (a tenant cannot lift a hold put on its data).
  expect((await call('PUT', `/v1/sessions/${id}/hold`, tenantA.key, {})).status).toBe(403);
  expect((await call('DELETE', `/v1/sessions/${id}/hold`, tenantA.key)).status).toBe(403);
  const held = await call('PUT', `/v1/sessions/${id}/hold`, operator.key, { reason: 'case 42' });
  expect(held).toMatchObject({ status: 200, body: { sessionId: id, reason: 'case 42', heldBy: `key:${operator.id}` } });
  expect((await call('PUT', `/v1/sessions/${id}/hold`, admin.key, { reason: 7 })).status).toBe(400);
  expect((await call('PUT', `/v1/sessions/00000000-0000-0000-0000-000000000000/hold`, admin.key, {})).status).toBe(404);
  const kept = await client.runRetentionPass({ finishedRunsMaxAgeMs: days(1) });
  expect(kept.sessions).toBe(0);
  expect(await call('DELETE', `/v1/sessions/${id}/hold`, admin.key)).toEqual({ status: 200, body: { released: true } });
  expect(await call('DELETE', `/v1/sessions/${id}/hold`, admin.key)).toEqual({
    status: 200,
    body: { released: false },
  });

  // The CLI: export to a file, hold and release, status.
  const lines: string[] = [];
  const out = (s: string) => void lines.push(s);
  const savedUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = db.url;
  try {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'agentpg-export-')), 'session.json');
    expect(await runCli(['sessions', 'export', id, '--out', file], out)).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ session: { id }, runs: [{ session_id: id }] });
    expect(await runCli(['sessions', 'hold', id, '--message', 'audit', '--by', 'me', '--json'], out)).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ sessionId: id, reason: 'audit', heldBy: 'me' });
    expect((await client.runRetentionPass({ finishedRunsMaxAgeMs: days(1) })).sessions).toBe(0);
    expect(await runCli(['sessions', 'release', id], out)).toBe(0);
    expect(lines.at(-1)).toBe('hold released');
    const retired = await client.runRetentionPass({ finishedRunsMaxAgeMs: days(1) });
    expect(retired).toMatchObject({ sessions: 1, runs: 1, messages: 2, toolCalls: 1 });
    expect(await runCli(['sessions', 'export', id], out)).toBe(1);
    expect(lines.at(-1)).toBe(`error: session not found: ${id}`);
    expect(await runCli(['retention', 'status', '--json'], out)).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      lastPass: { retired: { sessions: 1, runs: 1 } },
      retiredLastDay: { sessions: 1, runs: 1, messages: 2, toolCalls: 1 },
    });
  } finally {
    if (savedUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = savedUrl;
  }

  // Surfaced to operators: /readyz and /metrics.
  const ready = await call('GET', '/readyz', admin.key);
  expect(ready.body.retention).toMatchObject({ retiredLastDay: { sessions: 1 } });
  const metrics = await (await app.request('/metrics', { headers: { authorization: `Bearer ${admin.key}` } })).text();
  expect(metrics).toMatch(/agentpg_retention_retired_last_day\{kind="sessions"\} 1/);
  expect(metrics).toMatch(/agentpg_retention_last_pass_failed 0/);
});
