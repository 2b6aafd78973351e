import { describe, expect } from 'vitest';
import { json, postJson, readSse, testWithService } from '../helpers/service.js';

const test = testWithService({ AGENTPG_API_TOKEN: undefined });

describe('the HTTP service (npm start) against a real database and the offline model', () => {
  test('says plainly that the offline fake model answers', ({ service }) => {
    expect(service.output()).toMatch(/OFFLINE FAKE MODEL/);
  });

  test('lists the example agents with their tools', async ({ service }) => {
    const agents = await json(await fetch(`${service.url}/v1/agents`));
    expect(agents.map((a: { name: string }) => a.name).sort()).toEqual(['chat', 'weather']);
    expect(agents.find((a: { name: string }) => a.name === 'weather').tools).toEqual(['get_weather', 'get_time']);
  });

  test('creates a session, runs a prompt with a tool call, streams its events to the end, and reads it back completed', async ({
    service,
  }) => {
    const session = await json(
      await postJson(service, '/v1/sessions', { agent: 'weather', tenantId: 't1', identifier: 'user123' }),
    );
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    const created = await postJson(service, '/v1/runs', {
      sessionId: session.id,
      prompt: 'What is the weather in Paris?',
    });
    expect(created.status).toBe(202);
    const run = await json(created);
    // replay=1: the run may well have stored its tool turn before this request subscribes.
    const events = await readSse(await fetch(`${service.url}/v1/runs/${run.id}/events?replay=1`));
    const types = events.map((e) => e.event);
    expect(types.filter((t) => t === 'tool_call').length).toBeGreaterThanOrEqual(1);
    expect(types.indexOf('tool_call')).toBeLessThan(types.indexOf('tool_result'));
    expect(types[types.length - 1]).toBe('end');
    const final = await json(await fetch(`${service.url}/v1/runs/${run.id}`));
    expect(final.state).toBe('completed');
    expect(final.metadata.model).toBe('offline-fake');
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/agentpg_runs\{state="completed"\} [1-9]/);
  });

  test('joins the trace of a traceparent request header; ignores a malformed one', async ({ service }) => {
    const session = await json(
      await postJson(service, '/v1/sessions', { agent: 'chat', tenantId: 't1', identifier: 'traced' }),
    );
    const traceParent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const runWith = async (header: string) => {
      const res = await fetch(`${service.url}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: header },
        body: JSON.stringify({ sessionId: session.id, prompt: 'hello' }),
      });
      expect(res.status).toBe(202);
      return await json(await fetch(`${service.url}/v1/runs/${(await json(res)).id}`));
    };
    // The service registers no OpenTelemetry SDK: the header's context is stored as given.
    expect((await runWith(traceParent)).traceParent).toBe(traceParent);
    expect((await runWith('00-not-a-trace')).traceParent).toBeNull();
  });

  test('answers bad bodies with 400 naming the field', async ({ service }) => {
    const res = await postJson(service, '/v1/sessions', { agent: 'chat', tenantId: '', identifier: 'x' });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/tenantId/);
    const notJson = await fetch(`${service.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
  });

  test('answers unknown agents, sessions and runs with 404', async ({ service }) => {
    const a = await postJson(service, '/v1/sessions', { agent: 'nobody', tenantId: 't', identifier: 'x' });
    expect(a.status).toBe(404);
    expect((await json(a)).error.message).toMatch(/agent not found: nobody/);
    const s = await postJson(service, '/v1/runs', { sessionId: '00000000-0000-0000-0000-000000000000', prompt: 'hi' });
    expect(s.status).toBe(404);
    const r = await fetch(`${service.url}/v1/runs/00000000-0000-0000-0000-000000000000`);
    expect(r.status).toBe(404);
    const bad = await fetch(`${service.url}/v1/runs/not-a-uuid`);
    expect(bad.status).toBe(404);
  });
});
