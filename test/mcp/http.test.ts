import { describe, expect } from 'vitest';
import { defineAgent, type AgentPG } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { captureLogger, type CapturedLine } from '../helpers/logs.js';
import {
  standbyMcpHttpServer,
  startMcpHttpServer,
  type McpHttpServerProcess,
  runWithToolCall,
  toolCallOf,
} from '../helpers/mcpServers.js';
import { until } from '../helpers/until.js';
import { MODEL } from '../runs/helpers.js';

// The bearer token agentpg sends (a header value: a secret) and the server repeats in `fail`.
const TOKEN = 'mcp-http-secret-b41d02';
// Per call, retries of a broken connection included.
const CALL_TIMEOUT_MS = 8_000;

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let server: McpHttpServerProcess;
const logs: CapturedLine[] = [];

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  server = await startMcpHttpServer(TOKEN);
  client = await startClient({
    logger: captureLogger(logs),
    mcpServers: [
      {
        name: 'web',
        transport: { type: 'http', url: server.url, headers: { authorization: `Bearer ${TOKEN}` } },
        prefix: 'w_',
        tools: { include: ['echo', 'pid', 'fail'] },
        timeoutMs: CALL_TIMEOUT_MS,
        startTimeoutMs: 90_000,
      },
    ],
    agents: [defineAgent({ name: 'web-user', model: MODEL, tools: ['w_echo', 'w_pid', 'w_fail'] })],
  });
});

test.afterAll(async () => {
  await server?.kill();
});

const runWithTool = (name: string, input: unknown, id: string) =>
  runWithToolCall(client.agent('web-user'), fake, name, input, id);

const callOf = (runId: string) => toolCallOf(db, runId);

describe('MCP tools over streamable HTTP', { timeout: 120_000 }, () => {
  test('offers the included tools under the prefix and runs one in a run (the header reaches the server)', async () => {
    const linked = await db.query(`select tool_name from agentpg_instance_tools where instance_id = $1 order by 1`, [
      client.instanceId,
    ]);
    expect(linked.map((r) => r.tool_name)).toEqual(['w_echo', 'w_fail', 'w_pid']);
    const res = await runWithTool('w_echo', { text: 'over http' }, 'toolu_http_echo');
    expect(res.text).toBe('done');
    expect(await callOf(res.run.id)).toMatchObject({ state: 'succeeded', output: 'echo: over http' });
  });

  test('an isError result is an is_error tool_result, the header secret scrubbed', async () => {
    const res = await runWithTool('w_fail', {}, 'toolu_http_fail');
    expect(await callOf(res.run.id)).toMatchObject({
      state: 'failed',
      is_error: true,
      output: 'the tool failed (token ***)',
    });
  });

  test('a killed server restarted on the same port: the next call opens a new session and works', async () => {
    const first = await runWithTool('w_pid', {}, 'toolu_http_pid1');
    const pid1 = Number((await callOf(first.run.id)).output);
    expect(pid1).toBe(server.child.pid);
    await server.kill();
    server = await startMcpHttpServer(TOKEN, server.port);
    // The client still holds the old session id: the new server answers 404, the call reconnects.
    const second = await runWithTool('w_pid', {}, 'toolu_http_pid2');
    const call = await callOf(second.run.id);
    expect(call.state).toBe('succeeded');
    expect(Number(call.output)).toBe(server.child.pid);
    expect(Number(call.output)).not.toBe(pid1);
  });

  test('a call made while the server is down is retried with backoff and succeeds once it is back', async () => {
    const port = server.port;
    await server.kill();
    const standby = await standbyMcpHttpServer(TOKEN, port);
    fake.enqueue({ toolUses: [{ id: 'toolu_http_down', name: 'w_pid', input: {} }] }, { text: 'done' });
    const agent = client.agent('web-user');
    const refusals = () => logs.filter((l) => /ECONNREFUSED/.test(JSON.stringify(l.obj))).length;
    const before = refusals();
    const runId = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'down' }), 'go');
    // The call is under way and refused (retrying) before the server comes back.
    await until(() => refusals() > before, 30_000, 20);
    server = await standby.listen();
    const res = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(res.text).toBe('done');
    const call = await callOf(runId);
    expect(call).toMatchObject({ state: 'succeeded', is_error: false, error_message: null });
    expect(Number(call.output)).toBe(server.child.pid);
  });

  test('a server down for longer than the tool timeout gives an is_error result that says why, and the run goes on', async () => {
    const port = server.port;
    await server.kill();
    const started = Date.now();
    const res = await runWithTool('w_echo', { text: 'x' }, 'toolu_http_gone');
    expect(res.text).toBe('done');
    const call = await callOf(res.run.id);
    expect(call.is_error).toBe(true);
    expect(call.output).toMatch(/^MCP server "web" unreachable: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 1_000);
    server = await startMcpHttpServer(TOKEN, port);
  });

  test('never logs the header secret', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });
});
