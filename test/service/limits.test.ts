import http from 'node:http';
import { describe, expect } from 'vitest';
import { json, postJson, testWithService, type ServiceProcess } from '../helpers/service.js';

const TOKEN = 'test-token-123';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const test = testWithService({ AGENTPG_API_TOKEN: TOKEN, AGENTPG_CLEANUP_MS: '1000' });

describe('the HTTP service with a token: metrics, probes, input limits, cross-site requests', () => {
  /** A POST with the token; `body` is sent as it is when a string (to send exact bytes). */
  const post = (service: ServiceProcess, path: string, body: unknown, headers: Record<string, string> = {}) =>
    postJson(service, path, body, { ...AUTH, ...headers });
  const expectError = async (res: Response, status: number, type: string, message?: RegExp) => {
    const body = await json(res);
    expect({ status: res.status, type: body.error?.type }).toEqual({ status, type });
    if (message) expect(body.error.message).toMatch(message);
  };

  test('/metrics needs the token and exports all 13 ownership metrics, restore duration measured', async ({
    service,
  }) => {
    expect((await fetch(`${service.url}/metrics`)).status).toBe(401);
    const text = await (await fetch(`${service.url}/metrics`, { headers: AUTH })).text();
    for (const name of [
      'agents_restored_total',
      'agents_restore_failed_total',
      'agent_restore_duration_seconds',
      'agent_lock_acquire_total',
      'agent_lock_acquire_failed_total',
      'agent_lock_held',
      'agent_lock_lost_total',
      'agents_running',
      'agent_restarts_total',
      'agent_stale_writes_total',
      'lock_sessions',
      'shutdown_duration_seconds',
      'agents_saved_on_shutdown',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
    // The start-up claim pass took some time: the gauge reads the key the manager records.
    expect(Number(/^agent_restore_duration_seconds (\S+)$/m.exec(text)![1])).toBeGreaterThan(0);
    expect(text).toMatch(/# HELP agent_lock_held Shard locks/);
  });

  test('probes need no token; /ready is /readyz; readiness says who ran the last cleanup pass', async ({ service }) => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    let ready: any;
    for (let i = 0; i < 100; i++) {
      ready = await json(await fetch(`${service.url}/readyz`));
      if (ready.cleanup?.lastPassRanHere) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toMatchObject({ ready: true, draining: false });
    expect(ready.cleanup).toMatchObject({ lastPassRanHere: true, lastPassInstanceId: ready.instanceId });
    expect(Date.parse(ready.cleanup.nextPassDueAt)).toBeGreaterThan(Date.parse(ready.cleanup.lastPassAt));
    const alias = await fetch(`${service.url}/ready`);
    expect(alias.status).toBe(200);
    expect(await json(alias)).toMatchObject({ ready: true, instanceId: ready.instanceId });
  });

  test('refuses a body over the limit with 413, by Content-Length and while a chunked body streams', async ({
    service,
  }) => {
    await expectError(await post(service, '/v1/sessions', 'x'.repeat(2 * 1024 * 1024)), 413, 'request_too_large');
    // A chunked body of 64 MB, written until the service answers: it counts the bytes as they
    // stream and answers 413 at the limit (1 MB), then closes the connection. Whether the client
    // reads that answer or first fails a write on the closed socket (EPIPE, ECONNRESET) is a race
    // of the two sockets, so both count; either way the service stopped reading long before the end.
    const outcome = await postChunked(`${service.url}/v1/sessions`, 64 * 1024 * 1024);
    if (outcome.kind === 'response') {
      expect(outcome.status).toBe(413);
      expect(JSON.parse(outcome.body).error.type).toBe('request_too_large');
    } else expect(['EPIPE', 'ECONNRESET']).toContain(outcome.code);
    expect(outcome.bytesWritten).toBeLessThan(32 * 1024 * 1024);
  });

  test('answers bad fields with 400 naming them, never 500, and stores nothing unbounded', async ({ db, service }) => {
    const session = await json(await post(service, '/v1/sessions', { agent: 'chat', tenantId: 't', identifier: 'u' }));
    const bad = (metadata: string) =>
      post(service, '/v1/sessions', `{"agent":"chat","tenantId":"t","identifier":"u","metadata":${metadata}}`);
    await expectError(await bad(JSON.stringify({ big: 'x'.repeat(20_000) })), 400, 'invalid_request_error', /metadata/);
    await expectError(await bad('{"n":1e400}'), 400, 'invalid_request_error', /metadata\.n: number out of range/);
    await expectError(await bad('{"s":"a\\u0000b"}'), 400, 'invalid_request_error', /NUL/);
    await expectError(await bad('{"s":"\\ud800"}'), 400, 'invalid_request_error', /surrogate/);
    await expectError(await bad('{"a":'.repeat(5000) + '1' + '}'.repeat(5000)), 400, 'invalid_request_error', /nested/);
    await expectError(
      await post(service, '/v1/runs', { sessionId: session.id, prompt: 'x'.repeat(100_001) }),
      400,
      'invalid_request_error',
      /prompt/,
    );
    await expectError(
      await post(service, '/v1/long-running', { kind: 'watcher', config: { blob: 'x'.repeat(70_000) } }),
      400,
      'invalid_request_error',
      /config/,
    );
    await expectError(
      await post(service, '/v1/long-running', { kind: 'watcher', config: { intervalMs: -5 } }),
      400,
      'invalid_request_error',
      /config\.intervalMs/,
    );
    const [{ n }] = await db.query(`select count(*)::int as n from agentpg_long_running_agents`);
    expect(n).toBe(0);
  });

  test('restarting a long-running agent without config keeps its stored config', async ({ service }) => {
    const started = await post(service, '/v1/long-running', {
      id: 'w-keep',
      kind: 'watcher',
      config: { intervalMs: 60_000 },
    });
    expect(started.status).toBe(201);
    expect((await post(service, '/v1/long-running/w-keep/stop', {})).status).toBe(200);
    const restarted = await json(await post(service, '/v1/long-running', { id: 'w-keep', kind: 'watcher' }));
    expect(restarted).toMatchObject({ active: true, config: { intervalMs: 60_000 } });
    await post(service, '/v1/long-running/w-keep/stop', {});
  });

  test('refuses writes that are not application/json (415) and foreign origins (403)', async ({ service }) => {
    const plain = await fetch(`${service.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...AUTH },
      body: JSON.stringify({ agent: 'chat', tenantId: 't', identifier: 'u' }),
    });
    await expectError(plain, 415, 'unsupported_media_type_error');
    // A DELETE with no body needs no content type (it reaches the route: 404 for a session that
    // does not exist); one with a body that is not JSON is refused like any write.
    const bare = await fetch(`${service.url}/v1/sessions/00000000-0000-0000-0000-000000000000/hold`, {
      method: 'DELETE',
      headers: AUTH,
    });
    expect(bare.status).toBe(404);
    const plainDelete = await fetch(`${service.url}/v1/sessions/00000000-0000-0000-0000-000000000000/hold`, {
      method: 'DELETE',
      headers: { 'content-type': 'text/plain', ...AUTH },
      body: 'x',
    });
    await expectError(plainDelete, 415, 'unsupported_media_type_error');
    const foreign = await post(
      service,
      '/v1/sessions',
      { agent: 'chat', tenantId: 't', identifier: 'u' },
      { origin: 'https://evil.example' },
    );
    await expectError(foreign, 403, 'permission_error');
    const own = await post(
      service,
      '/v1/sessions',
      { agent: 'chat', tenantId: 't', identifier: 'u' },
      { origin: service.url },
    );
    expect(own.status).toBe(201);
  });
});

/**
 * POSTs a chunked body of up to `total` bytes with node:http, stopping at the first response or
 * error: what came back, and how many bytes had been handed to the socket by then.
 */
function postChunked(
  url: string,
  total: number,
): Promise<
  | { kind: 'response'; status: number; body: string; bytesWritten: number }
  | { kind: 'error'; code: string; bytesWritten: number }
> {
  const chunk = Buffer.alloc(64 * 1024, 32);
  return new Promise((resolve) => {
    let written = 0;
    let settled = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...AUTH },
    });
    req.on('response', (res) => {
      settled = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ kind: 'response', status: res.statusCode!, body, bytesWritten: written }));
      res.on('error', () => resolve({ kind: 'response', status: res.statusCode!, body, bytesWritten: written }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      resolve({ kind: 'error', code: err.code ?? String(err), bytesWritten: written });
    });
    const write = () => {
      while (!settled && !req.destroyed && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!settled && !req.destroyed) req.end();
    };
    write();
  });
}
