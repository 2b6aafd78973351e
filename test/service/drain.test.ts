import { describe, expect } from 'vitest';
import { json, postJson, readSse, testWithService } from '../helpers/service.js';

// No token, on every interface: the exposure warning; a slow model call keeps a run in flight.
const test = testWithService({ AGENTPG_API_TOKEN: undefined, HOST: '0.0.0.0', AGENTPG_FAKE_LATENCY_MS: '4000' });

describe('draining the HTTP service (SIGTERM)', () => {
  test('warns at start that it has no token and listens beyond loopback', ({ service }) => {
    expect(service.output()).toMatch(/"event":"service_unauthenticated"/);
  });

  test('refuses a cross-site text/plain POST even without a token', async ({ service }) => {
    const res = await fetch(`${service.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ agent: 'chat', tenantId: 't', identifier: 'u' }),
    });
    expect(res.status).toBe(415);
  });

  test('is not ready, refuses new runs and keeps in-flight streams until their runs end; the listener closes last', async ({
    db,
    service,
  }) => {
    const session = await json(
      await postJson(service, '/v1/sessions', { agent: 'chat', tenantId: 't', identifier: 'drain' }),
    );
    const run = await json(await postJson(service, '/v1/runs', { sessionId: session.id, prompt: 'hello' }));
    for (let i = 0; i < 200; i++) {
      if ((await json(await fetch(`${service.url}/v1/runs/${run.id}`))).state === 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const events = fetch(`${service.url}/v1/runs/${run.id}/events?replay=1`).then(readSse);
    const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGTERM');

    let readyz = 0;
    for (let i = 0; i < 100 && readyz !== 503; i++) {
      readyz = (await fetch(`${service.url}/readyz`)).status;
      if (readyz !== 503) await new Promise((r) => setTimeout(r, 20));
    }
    expect(readyz).toBe(503);
    const ready = await fetch(`${service.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await json(ready)).toMatchObject({ ready: false, draining: true });
    const healthz = await fetch(`${service.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await json(healthz)).toMatchObject({ ok: true, draining: true });
    const refused = await postJson(service, '/v1/runs', { sessionId: session.id, prompt: 'too late' });
    expect(refused.status).toBe(503);
    expect((await json(refused)).error.type).toBe('unavailable_error');

    // The in-flight run finished during the drain and its stream got every event to the end.
    const got = await events.catch(async (err) => {
      await exited;
      console.log(service.output());
      throw err;
    });
    expect(got[got.length - 1]?.event).toBe('end');
    expect(await exited).toBe(0);
    const [row] = await db.query(`select state from agentpg_runs where id = $1`, [run.id]);
    expect(row.state).toBe('completed');
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });
});
