// The console's pages and streams × every kind of key, as a browser presents it (the login
// cookie), against a real database, with the service's app built in-process over a started client;
// plus the login itself, the write guard (Origin) and tenant isolation in what the pages and the
// event stream show.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/access/keys.js';
import { createKeySet, type KeySet } from '../helpers/keys.js';
import { AgentPG } from '../../src/client.js';
import { defineAgent } from '../../src/model/agent.js';
import { defineTool } from '../../src/model/tool.js';
import { exampleAgents, exampleLongRunningKinds, exampleTools } from '../../src/service/examples.js';
import { createHttpApp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import { lastUserText, startFakeAnthropic, type FakeAnthropic, type FakeRequest } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { untilValue } from '../helpers/until.js';

const KINDS = exampleLongRunningKinds.map((k) => k.kind);
// A tool that waits for a person's approval, and an agent that has it: a run of it waits in
// awaiting_input, which the run page shows.
const transfer = defineTool({
  name: 'transfer',
  description: 'Sends money.',
  inputSchema: z.object({ amount: z.number() }),
  needsApproval: true,
  execute: (input) => `sent ${input.amount}`,
});
const banker = defineAgent({ name: 'banker', model: 'claude-sonnet-5-5', tools: ['transfer'] });
/** `transfer <n>` asks for the tool (until its result is there); anything else is answered `done`. */
function responder(req: FakeRequest) {
  const m = /^transfer (\d+)$/.exec(lastUserText(req.body));
  return m ? { toolUses: [{ name: 'transfer', input: { amount: Number(m[1]) } }] } : { text: 'done' };
}
// app.request() builds its URL on http://localhost: the console's own origin.
const OWN_ORIGIN = 'http://localhost';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let pool: pg.Pool;
let app: ReturnType<typeof createHttpApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic({ responder });
  client = new AgentPG({
    databaseUrl: db.url,
    migrate: false,
    poolSize: 4,
    anthropic: { apiKey: 'test', baseURL: fake.url },
    agents: [...exampleAgents, banker],
    tools: [...exampleTools, transfer],
    longRunning: [],
  });
  await client.start();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  app = createHttpApp(client, createMetrics(client, pool), {
    apiToken: 'console-admin-token-0123456789',
    db: pool,
    isDraining: () => false,
    longRunningKinds: KINDS,
  });
}, 120_000);
afterAll(async () => {
  await client?.stop();
  await pool?.end();
  await fake?.close();
  await db?.drop();
});

interface CallOptions {
  cookie?: string;
  bearer?: string;
  body?: unknown;
  origin?: string | null;
  accept?: string;
}
function call(method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { host: 'localhost', accept: o.accept ?? 'text/html' };
  if (o.cookie) headers.cookie = `agentpg_console=${o.cookie}`;
  if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && o.origin !== null) headers.origin = o.origin ?? OWN_ORIGIN;
  return Promise.resolve(
    app.request(path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) }),
  );
}
async function status(res: Response): Promise<number> {
  await res.body?.cancel(); // event streams: the status is all the matrix reads
  return res.status;
}

const keys: KeySet = {} as never;
let sessionA: string;
let sessionB: string;
let runA: string;
let runB: string;

beforeAll(async () => {
  Object.assign(keys, await createKeySet(pool));
  sessionA = await client.agent('chat').newSession({ tenantId: 'A', identifier: 'alice-session' });
  sessionB = await client.agent('chat').newSession({ tenantId: 'B', identifier: 'bob-session' });
  runA = await client.agent('chat').enqueue(sessionA, 'hello from A');
  runB = await client.agent('chat').enqueue(sessionB, 'hello from B');
  await client.runs.wait(runA);
  await client.runs.wait(runB);
}, 60_000);

describe('console routes × keys (the login cookie)', () => {
  // Expected status per caller: admin, operator, tenant A, tenant B, revoked, no key. Pages send a
  // browser without a valid key to /ui/login (303); streams and posts answer 401.
  type Row = [string, string, CallOptions, [number, number, number, number, number, number]];
  const SSE = { accept: 'text/event-stream' };
  const matrix: Row[] = [
    ['GET', '/ui/login', {}, [200, 200, 200, 200, 200, 200]],
    ['GET', '/ui/assets/console.js', {}, [200, 200, 200, 200, 200, 200]],
    ['GET', '/ui', {}, [200, 200, 200, 200, 303, 303]],
    ['GET', '/ui/runs', {}, [200, 200, 200, 200, 303, 303]],
    ['GET', '/ui/runs?state=completed&agent=chat&tenant=A', {}, [200, 200, 200, 200, 303, 303]],
    ['GET', '/ui/runs/:A', {}, [200, 200, 200, 404, 303, 303]],
    ['GET', '/ui/runs/:B', {}, [200, 200, 404, 200, 303, 303]],
    ['GET', '/ui/runs/not-a-run', {}, [404, 404, 404, 404, 303, 303]],
    ['GET', '/ui/runs/:A/stream?replay=1', SSE, [200, 200, 200, 404, 401, 401]],
    ['GET', '/ui/runs/:B/stream', SSE, [200, 200, 404, 200, 401, 401]],
    ['GET', '/ui/events', SSE, [200, 200, 200, 200, 401, 401]],
    ['GET', '/ui/sessions', {}, [200, 200, 200, 200, 303, 303]],
    ['GET', '/ui/long-running', {}, [200, 200, 403, 403, 303, 303]],
    ['GET', '/ui/chat', {}, [200, 403, 200, 200, 303, 303]],
    ['GET', '/ui/waits', {}, [200, 200, 200, 200, 303, 303]],
    // A decision or an answer: 404 for another tenant's run and for a call the run does not have
    // (every role gets that far, as on /v1); a decision names no decider: the key is the decider.
    [
      'POST',
      '/ui/runs/:B/decisions',
      { body: { toolUseId: 'toolu_x', decision: 'approve' } },
      [404, 404, 404, 404, 401, 401],
    ],
    ['POST', '/ui/runs/:B/inputs', { body: { toolUseId: 'toolu_x', answer: 'yes' } }, [404, 404, 404, 404, 401, 401]],
    [
      'POST',
      '/ui/runs/:B/decisions',
      { body: { toolUseId: 'toolu_x', decision: 'maybe' } },
      [400, 400, 404, 400, 401, 401],
    ],
    // A new session: a one-tenant key's tenant; an admin must name one; operators start no work.
    ['POST', '/ui/chat', { body: { agent: 'chat', prompt: 'hi' } }, [400, 403, 202, 202, 401, 401]],
    ['POST', '/ui/chat', { body: { agent: 'chat', prompt: 'hi', tenantId: 'A' } }, [202, 403, 202, 403, 401, 401]],
    ['POST', '/ui/chat', { body: { agent: 'chat', prompt: 'more', sessionId: ':SA' } }, [202, 403, 202, 404, 401, 401]],
    ['POST', '/ui/chat', { body: { agent: 'chat', prompt: 'more', sessionId: ':SB' } }, [202, 403, 404, 202, 401, 401]],
  ];
  const callers = ['admin', 'operator', 'tenantA', 'tenantB', 'revoked', 'none'] as const;
  const fill = (s: string) =>
    s.replace(':A', runA).replace(':B', runB).replace(':SA', sessionA).replace(':SB', sessionB);

  it.each(matrix)('%s %s (row %#)', async (method, template, options, expected) => {
    const body = options.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(options.body)));
    const got: number[] = [];
    for (const who of callers) {
      const cookie = who === 'none' ? undefined : keys[who];
      got.push(await status(await call(method, fill(template), { ...options, body, cookie })));
    }
    expect(Object.fromEntries(callers.map((c, i) => [c, got[i]]))).toEqual(
      Object.fromEntries(callers.map((c, i) => [c, expected[i]])),
    );
  });

  it('a page without a valid key redirects to /ui/login, and a revoked key loses its cookie', async () => {
    const res = await call('GET', '/ui/runs', { cookie: keys.revoked });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/login');
    expect(res.headers.get('set-cookie')).toMatch(/^agentpg_console=;.*Max-Age=0/);
  });

  it('pages, their errors included, are HTML under a self-only Content-Security-Policy', async () => {
    const missing = await call('GET', '/ui/runs/00000000-0000-0000-0000-000000000000', { cookie: keys.admin });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await missing.text()).toContain('run not found');
    for (const res of [missing, await call('GET', '/ui', { cookie: keys.admin })]) {
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    }
  });

  it('a bearer header works as well as the cookie (scripts, curl)', async () => {
    expect(await status(await call('GET', `/ui/runs/${runA}`, { bearer: keys.tenantA }))).toBe(200);
    expect(await status(await call('GET', `/ui/runs/${runB}`, { bearer: keys.tenantA }))).toBe(404);
    expect(await status(await call('GET', '/ui/long-running', { bearer: 'console-admin-token-0123456789' }))).toBe(200);
  });
});

describe('login', () => {
  const login = (key: string, origin?: string) =>
    app.request('/ui/login', {
      method: 'POST',
      headers: { host: 'localhost', origin: origin ?? OWN_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key }).toString(),
    });

  it('sets an HttpOnly, SameSite=Strict cookie scoped to /ui for a valid key, and nothing for a wrong one', async () => {
    const ok = await login(keys.tenantA);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/ui');
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^agentpg_console=agpk_/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/ui/);
    for (const wrong of [keys.revoked, `${keys.tenantA.slice(0, -4)}AAAA`, 'not a key', '']) {
      const res = await login(wrong);
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('logging in from another site is refused (login CSRF)', async () => {
    expect((await login(keys.tenantA, 'https://evil.example')).status).toBe(403);
  });
});

describe('writes authenticated by the cookie must come from the console page', () => {
  const body = { agent: 'chat', prompt: 'csrf?', sessionId: '' };
  it('no Origin or a foreign one is 403; the own origin or a bearer header without Origin goes through', async () => {
    body.sessionId = sessionA;
    expect(await status(await call('POST', '/ui/chat', { cookie: keys.tenantA, body, origin: null }))).toBe(403);
    expect(
      await status(await call('POST', '/ui/chat', { cookie: keys.tenantA, body, origin: 'https://evil.example' })),
    ).toBe(403);
    expect(await status(await call('POST', '/ui/chat', { cookie: keys.tenantA, body }))).toBe(202);
    expect(await status(await call('POST', '/ui/chat', { bearer: keys.tenantA, body, origin: null }))).toBe(202);
  });
});

describe('a tenant key sees only its tenant on every page', () => {
  const text = async (path: string, key: string) => await (await call('GET', path, { cookie: key })).text();

  it('runs, sessions and the overview', async () => {
    const runsA = await text('/ui/runs', keys.tenantA);
    expect(runsA).toContain(runA);
    expect(runsA).not.toContain(runB);
    // A tenant filter naming another tenant shows nothing of it either.
    expect(await text('/ui/runs?tenant=B', keys.tenantA)).not.toContain(runB);
    const sessionsA = await text('/ui/sessions', keys.tenantA);
    expect(sessionsA).toContain('alice-session');
    expect(sessionsA).not.toContain('bob-session');
    const overviewA = await text('/ui', keys.tenantA);
    expect(overviewA).not.toContain('data-table="instances"');
    expect(overviewA).not.toContain(client.instanceId);
    const all = await text('/ui/runs', keys.admin);
    expect(all).toContain(runA);
    expect(all).toContain(runB);
    expect(await text('/ui', keys.operator)).toContain(client.instanceId);
  });

  it("the event stream carries the key's tenants' run changes only", async () => {
    const res = await call('GET', '/ui/events', { cookie: keys.tenantA, accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(received)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${received}`);
        received += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/event: ready/);
    // B's run is enqueued (and notified) first: were it forwarded, it would arrive before A's.
    const newB = await client.agent('chat').enqueue(sessionB, 'B again');
    const newA = await client.agent('chat').enqueue(sessionA, 'A again');
    await readUntil(new RegExp(newA));
    await client.runs.wait(newB);
    await client.runs.wait(newA);
    await readUntil(
      new RegExp(`"runId":"${newA}","sessionId":"[^"]+","agentName":"chat","tenantId":"A","state":"completed"`),
    );
    expect(received).not.toContain(newB);
    expect(received).not.toContain('"tenantId":"B"');
    await reader.cancel();
  });
});

describe('what the pages show', () => {
  const text = async (path: string, key: string) => await (await call('GET', path, { cookie: key })).text();

  it("a run's page shows its pending approvals, and its child sessions' runs to whoever sees their tenant", async () => {
    const session = await client.agent('banker').newSession({ tenantId: 'A', identifier: 'bank' });
    const waiting = await client.agent('banker').enqueue(session, 'transfer 42');
    await untilValue(
      async () => (await client.runs.get(waiting))?.state,
      (s) => s === 'awaiting_input',
    );
    const page = await text(`/ui/runs/${waiting}`, keys.tenantA);
    expect(page).toContain('Waiting for approval');
    expect(page).toMatch(/<td>transfer <code/);
    expect(page).toContain('&quot;amount&quot;: 42');
    expect(page).toContain(`data-action="/ui/runs/${waiting}/decisions"`);

    const childA = await client
      .agent('chat')
      .newSession({ tenantId: 'A', identifier: 'child', parentSessionId: sessionA });
    const childB = await client
      .agent('chat')
      .newSession({ tenantId: 'B', identifier: 'child', parentSessionId: sessionA });
    const childRunA = await client.agent('chat').enqueue(childA, 'child of A');
    const childRunB = await client.agent('chat').enqueue(childB, 'child of A in B');
    await client.runs.wait(childRunA);
    await client.runs.wait(childRunB);
    const parentForA = await text(`/ui/runs/${runA}`, keys.tenantA);
    expect(parentForA).toContain('Child runs');
    expect(parentForA).toContain(childRunA);
    expect(parentForA).not.toContain(childRunB);
    expect(await text(`/ui/runs/${runA}`, keys.admin)).toContain(childRunB);
  });

  it('decides from the console: listed on /ui/waits for its tenant only, recorded as the key, resumed; a second decision is 409', async () => {
    const { id: keyId, key } = await createApiKey(pool, { role: 'tenant', tenantIds: ['A'] });
    const session = await client.agent('banker').newSession({ tenantId: 'A', identifier: 'bank-console' });
    const waiting = await client.agent('banker').enqueue(session, 'transfer 7');
    await untilValue(
      async () => (await client.runs.get(waiting))?.state,
      (s) => s === 'awaiting_input',
    );
    const [pending] = await client.approvals.list({ runId: waiting });
    expect(await text('/ui/waits', key)).toContain(`data-action="/ui/runs/${waiting}/decisions"`);
    expect(await text('/ui/waits', keys.tenantB)).not.toContain(waiting);

    const decide = (decision: string) =>
      call('POST', `/ui/runs/${waiting}/decisions`, {
        cookie: key,
        accept: 'application/json',
        body: { toolUseId: pending.toolUseId, decision, message: 'ok from the console' },
      });
    const res = await decide('approve');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ runState: 'queued' });
    const run = await client.runs.result(waiting, { timeoutMs: 60_000 });
    expect(run.text).toBe('done');
    const [call_] = await db.query(`select approval, decided_by, state from agentpg_tool_calls where run_id = $1`, [
      waiting,
    ]);
    expect(call_).toEqual({ approval: 'approved', decided_by: `console:${keyId}`, state: 'succeeded' });
    expect((await decide('deny')).status).toBe(409);
  });

  it('the long-running page shows each agent with its owner and epoch', async () => {
    await client.longRunning.start({ id: 'console-watcher', kind: KINDS[0], active: false });
    const page = await text('/ui/long-running', keys.operator);
    expect(page).toContain('console-watcher');
    expect(page).toMatch(/data-agent-id="console-watcher"[\s\S]*?<td>0<\/td>/); // epoch 0: never owned
  });

  it('the long-running page lists hand-overs: each acquisition of a shard with the owner before it', async () => {
    // The ownership log as two owners leave it: old-owner held the shard, handed it over at its
    // shutdown, new-owner took it (instance ids made up: no ownership manager runs here).
    await client.longRunning.start({ id: 'handed-over', kind: KINDS[0], active: false });
    const [{ shard }] = await db.query(`select shard from agentpg_long_running_agents where id = 'handed-over'`);
    await db.query(
      `insert into agentpg_long_running_ownership_log (shard, epoch, instance_id, acquired_at, released_at, release_reason)
       values ($1, 1, 'old-owner', now() - interval '1 minute', now() - interval '30 seconds', 'shutdown'),
              ($1, 2, 'new-owner', now() - interval '30 seconds', null, null)`,
      [shard],
    );
    const page = await text('/ui/long-running', keys.admin);
    const rows = [...page.matchAll(/<tr>\s*<td><time[\s\S]*?<\/tr>/g)].map((m) => m[0].replace(/\s+/g, ' '));
    const newest = rows.find((r) => r.includes('new-owner'));
    expect(newest).toMatch(/handed-over/);
    expect(newest).toMatch(/<td>2<\/td> <td> ?<code>old-owner<\/code> ?<\/td> <td> ?<code>new-owner<\/code>/);
    expect(rows.find((r) => r.includes('shutdown'))).toMatch(/first owner/);
    expect(await status(await call('GET', '/ui/long-running', { cookie: keys.tenantA }))).toBe(403);
  });
});
