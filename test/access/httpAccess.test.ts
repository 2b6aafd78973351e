// Tenant-scoped access to the HTTP service: every route × every kind of key, against a real
// database, with the service's app built in-process (createHttpApp) over a started client.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/access/keys.js';
import { createKeySet, type KeySet } from '../helpers/keys.js';
import { AgentPG } from '../../src/client.js';
import { runCli } from '../../src/cli/main.js';
import { exampleAgents, exampleLongRunningKinds, exampleTools } from '../../src/service/examples.js';
import { createHttpApp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const TOKEN = 'legacy-admin-token-0123456789';
const KINDS = exampleLongRunningKinds.map((k) => k.kind);

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let pool: pg.Pool;
type App = ReturnType<typeof createHttpApp>;
const appFor = (apiToken?: string): App =>
  createHttpApp(client, createMetrics(client, pool), {
    apiToken,
    db: pool,
    isDraining: () => false,
    longRunningKinds: KINDS,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic({ defaultReply: { text: 'done' } });
  client = new AgentPG({
    databaseUrl: db.url,
    migrate: false,
    poolSize: 4,
    anthropic: { apiKey: 'test', baseURL: fake.url },
    agents: exampleAgents,
    tools: exampleTools,
    longRunning: [], // started here, run by no instance: their rows are enough
  });
  await client.start();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
}, 120_000);
afterAll(async () => {
  await client?.stop();
  await pool?.end();
  await fake?.close();
  await db?.drop();
});

function call(app: App, method: string, path: string, auth?: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return Promise.resolve(
    app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
  );
}
async function status(res: Response): Promise<number> {
  await res.body?.cancel(); // event streams: the status is all this test reads
  return res.status;
}

describe('without a token or any key', () => {
  it('the service stays open (as before), and the first key created closes it', async () => {
    const app = appFor();
    expect(await status(await call(app, 'GET', '/v1/agents'))).toBe(200);
    expect(await status(await call(app, 'GET', '/metrics'))).toBe(200);
    const key = await createApiKey(pool, { role: 'tenant', tenantIds: ['zzz'], name: 'closer' });
    expect(await status(await call(app, 'GET', '/v1/agents'))).toBe(401);
    expect(await status(await call(app, 'GET', '/metrics'))).toBe(401);
    // Revoking the last key does not reopen the service.
    await revokeApiKey(pool, key.id);
    expect(await status(await call(app, 'GET', '/v1/agents'))).toBe(401);
  });
});

describe('keys by role and tenant', () => {
  const keys: KeySet = {} as never;
  let app: App;
  let sessionA: string;
  let sessionB: string;
  let runA: string;
  let runB: string;

  beforeAll(async () => {
    app = appFor(TOKEN);
    Object.assign(keys, await createKeySet(pool));
    const json = async (res: Response) => {
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as { id: string };
    };
    sessionA = (await json(await call(app, 'POST', '/v1/sessions', keys.tenantA, { agent: 'chat', identifier: 'u' })))
      .id;
    sessionB = (await json(await call(app, 'POST', '/v1/sessions', keys.tenantB, { agent: 'chat', identifier: 'u' })))
      .id;
    runA = (await json(await call(app, 'POST', '/v1/runs', keys.tenantA, { sessionId: sessionA, prompt: 'hi' }))).id;
    runB = (await json(await call(app, 'POST', '/v1/runs', keys.tenantB, { sessionId: sessionB, prompt: 'hi' }))).id;
    await json(await call(app, 'POST', '/v1/long-running', keys.admin, { id: 'lr1', kind: KINDS[0], active: false }));
  }, 60_000);

  // Expected status per caller: admin key, operator key, tenant A key, tenant B key, revoked key, no key.
  type Row = [string, string, () => unknown, [number, number, number, number, number, number]];
  const matrix: Row[] = [
    ['GET', '/v1/agents', () => undefined, [200, 200, 200, 200, 401, 401]],
    // No tenantId: a one-tenant key's tenant; an admin must name one; operators create no sessions.
    ['POST', '/v1/sessions', () => ({ agent: 'chat', identifier: 'x' }), [400, 403, 201, 201, 401, 401]],
    ['POST', '/v1/sessions', () => ({ agent: 'chat', identifier: 'x', tenantId: 'A' }), [201, 403, 201, 403, 401, 401]],
    ['POST', '/v1/runs', () => ({ sessionId: sessionA, prompt: 'again' }), [202, 403, 202, 404, 401, 401]],
    ['POST', '/v1/runs', () => ({ sessionId: sessionB, prompt: 'again' }), [202, 403, 404, 202, 401, 401]],
    ['GET', '/v1/runs/:A', () => undefined, [200, 200, 200, 404, 401, 401]],
    ['GET', '/v1/runs/:B', () => undefined, [200, 200, 404, 200, 401, 401]],
    ['GET', '/v1/runs/:A/events?replay=1', () => undefined, [200, 200, 200, 404, 401, 401]],
    ['POST', '/v1/runs/:A/cancel', () => ({}), [200, 200, 200, 404, 401, 401]],
    ['POST', '/v1/runs/:B/cancel', () => ({}), [200, 200, 404, 200, 401, 401]],
    ['GET', '/v1/long-running', () => undefined, [200, 200, 403, 403, 401, 401]],
    ['POST', '/v1/long-running', () => ({ id: 'lr2', kind: KINDS[0], active: false }), [201, 201, 403, 403, 401, 401]],
    ['POST', '/v1/long-running/lr1/stop', () => ({}), [200, 200, 403, 403, 401, 401]],
    ['GET', '/metrics', () => undefined, [200, 200, 403, 403, 401, 401]],
    ['GET', '/v1/sessions/:SA/messages', () => undefined, [200, 200, 200, 404, 401, 401]],
    ['GET', '/v1/sessions/:SB/messages', () => undefined, [200, 200, 404, 200, 401, 401]],
    // Lists of waits: every role may list; a tenant key gets only its tenants' waits.
    ['GET', '/v1/approvals', () => undefined, [200, 200, 200, 200, 401, 401]],
    ['GET', '/v1/inputs', () => undefined, [200, 200, 200, 200, 401, 401]],
    // A decision or an answer: 404 for another tenant's run, and for a call the run does not have
    // (the keys get that far: no 401/403).
    [
      'POST',
      '/v1/runs/:B/decisions',
      () => ({ toolUseId: 'toolu_x', decision: 'approve', decidedBy: 'me' }),
      [404, 404, 404, 404, 401, 401],
    ],
    [
      'POST',
      '/v1/runs/:B/inputs',
      () => ({ toolUseId: 'toolu_x', answer: 'yes', answeredBy: 'me' }),
      [404, 404, 404, 404, 401, 401],
    ],
  ];
  const callers = ['admin', 'operator', 'tenantA', 'tenantB', 'revoked', 'none'] as const;

  it.each(matrix)('%s %s (row %#)', async (method, template, body, expected) => {
    const path = template.replace(':SA', sessionA).replace(':SB', sessionB).replace(':A', runA).replace(':B', runB);
    const got: number[] = [];
    for (const who of callers) {
      const auth = who === 'none' ? undefined : keys[who];
      got.push(await status(await call(app, method, path, auth, body())));
    }
    expect(Object.fromEntries(callers.map((c, i) => [c, got[i]]))).toEqual(
      Object.fromEntries(callers.map((c, i) => [c, expected[i]])),
    );
  });

  it('a run of another tenant answers exactly like a run that does not exist', async () => {
    const other = await call(app, 'GET', `/v1/runs/${runB}`, keys.tenantA);
    const missing = await call(app, 'GET', '/v1/runs/00000000-0000-0000-0000-000000000000', keys.tenantA);
    const type = async (res: Response) => ((await res.json()) as { error: { type: string } }).error.type;
    expect(await type(other)).toBe(await type(missing));
    expect(other.status).toBe(missing.status);
  });

  it('a new session takes the tenant of the key, and a multi-tenant key must name one of its own', async () => {
    const res = await call(app, 'POST', '/v1/sessions', keys.tenantA, { agent: 'chat', identifier: 'who' });
    const { id } = (await res.json()) as { id: string };
    expect((await client.sessions.get(id))?.tenantId).toBe('A');
    const both = (await createApiKey(pool, { role: 'tenant', tenantIds: ['A', 'B'] })).key;
    expect(await status(await call(app, 'POST', '/v1/sessions', both, { agent: 'chat', identifier: 'x' }))).toBe(400);
    expect(
      await status(await call(app, 'POST', '/v1/sessions', both, { agent: 'chat', identifier: 'x', tenantId: 'B' })),
    ).toBe(201);
    expect(await status(await call(app, 'GET', `/v1/runs/${runB}`, both))).toBe(200);
  });

  it('AGENTPG_API_TOKEN stays an admin key; a wrong token or a forged key is 401', async () => {
    expect(await status(await call(app, 'GET', '/v1/long-running', TOKEN))).toBe(200);
    expect(await status(await call(app, 'GET', `/v1/runs/${runB}`, TOKEN))).toBe(200);
    expect(await status(await call(app, 'GET', '/v1/agents', `${TOKEN}x`))).toBe(401);
    const forged = keys.tenantA.slice(0, -4) + 'AAAA';
    expect(await status(await call(app, 'GET', '/v1/agents', forged))).toBe(401);
  });

  it('revoking with the CLI is seen at once by a second app instance, and by the first', async () => {
    const created = await createApiKey(pool, { role: 'tenant', tenantIds: ['A'], name: 'to revoke' });
    const second = appFor(); // another instance: no token, its own authenticator
    expect(await status(await call(app, 'GET', `/v1/runs/${runA}`, created.key))).toBe(200);
    expect(await status(await call(second, 'GET', `/v1/runs/${runA}`, created.key))).toBe(200);
    const out: string[] = [];
    const prev = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    try {
      expect(await runCli(['keys', 'revoke', created.id], (s) => out.push(s))).toBe(0);
    } finally {
      process.env.DATABASE_URL = prev;
    }
    expect(await status(await call(second, 'GET', `/v1/runs/${runA}`, created.key))).toBe(401);
    expect(await status(await call(app, 'GET', `/v1/runs/${runA}`, created.key))).toBe(401);
  });
});
