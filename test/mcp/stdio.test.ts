import { describe, expect, it } from 'vitest';
import { AgentPG, ConfigError, defineAgent } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { captureLogger, type CapturedLine } from '../helpers/logs.js';
import { stdioTestServer, runWithToolCall, toolCallOf } from '../helpers/mcpServers.js';
import { untilValue } from '../helpers/until.js';
import { MODEL, untilRunState } from '../runs/helpers.js';

// The secret the stdio server gets in its env; its `fail` tool and its stderr repeat it.
const TOKEN = 'mcp-stdio-secret-7f3a9c';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
const logs: CapturedLine[] = [];

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  client = await startClient({
    logger: captureLogger(logs),
    mcpServers: [
      {
        name: 'files',
        transport: stdioTestServer(TOKEN),
        tools: { exclude: ['hidden'] },
        needsApproval: ['fail'],
        // Its tsx start-up takes seconds on a busy machine.
        startTimeoutMs: 90_000,
      },
    ],
    agents: [
      defineAgent({
        name: 'mcp-user',
        model: MODEL,
        tools: ['files__echo', 'files__pid', 'files__fail', 'files__meta'],
      }),
    ],
  });
});

const runWithTool = (name: string, input: unknown, id: string) =>
  runWithToolCall(client.agent('mcp-user'), fake, name, input, id);

const callOf = (runId: string) => toolCallOf(db, runId);

describe('MCP tools over stdio', { timeout: 120_000 }, () => {
  it('registers the filtered, prefixed tools like code tools: registry, agentpg_tools, agentpg_instance_tools', async () => {
    expect(client.registry.isCapable('mcp-user')).toBe(true);
    const linked = await db.query(`select tool_name from agentpg_instance_tools where instance_id = $1 order by 1`, [
      client.instanceId,
    ]);
    expect(linked.map((r) => r.tool_name)).toEqual(['files__echo', 'files__fail', 'files__meta', 'files__pid']);
    const [row] = await db.query(`select description, input_schema, metadata from agentpg_tools where name = $1`, [
      'files__echo',
    ]);
    expect(row.description).toBe('Echoes its text.');
    expect(row.input_schema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
    expect(row.metadata).toEqual({ mcpServer: 'files', mcpTool: 'echo' });
  });

  it('runs an MCP tool in a run: the model is offered it and gets its result', async () => {
    const res = await runWithTool('files__echo', { text: 'hello' }, 'toolu_echo');
    expect(res.text).toBe('done');
    expect(await callOf(res.run.id)).toMatchObject({ state: 'succeeded', output: 'echo: hello', is_error: false });
    const offered = fake.requests.at(-2)!.body.tools!.map((t) => (t as { name: string }).name);
    expect(offered).toEqual(['files__echo', 'files__pid', 'files__fail', 'files__meta']);
    const results = fake.requests.at(-1)!.body.messages.at(-1)!.content as any[];
    expect(results[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_echo', content: 'echo: hello' });
  });

  it('sends the call idempotency key to the server as _meta', async () => {
    const res = await runWithTool('files__meta', {}, 'toolu_meta');
    const call = await callOf(res.run.id);
    expect(JSON.parse(call.output)).toMatchObject({ 'agentpg/idempotencyKey': 'toolu_meta' });
  });

  it('applies approval from the server config, then turns an isError result into an is_error tool_result without the secret', async () => {
    fake.enqueue({ toolUses: [{ id: 'toolu_fail', name: 'files__fail', input: {} }] }, { text: 'it failed' });
    const agent = client.agent('mcp-user');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'fail' });
    const runId = await agent.enqueue(sessionId, 'use the failing tool');
    await untilRunState(client, runId, 'awaiting_input');
    const [pending] = await client.approvals.list({ runId });
    expect(pending.toolName).toBe('files__fail');
    await client.approvals.decide(runId, { toolUseId: 'toolu_fail', decision: 'approve', decidedBy: 'alice' });
    const res = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(res.text).toBe('it failed');
    const call = await callOf(runId);
    expect(call).toMatchObject({ state: 'failed', is_error: true, output: 'the tool failed (token ***)' });
    expect(call.error_message).toBe('the tool failed (token ***)');
    const results = fake.requests.at(-1)!.body.messages.at(-1)!.content as any[];
    expect(results[0]).toMatchObject({ is_error: true, content: 'the tool failed (token ***)' });
  });

  it('restarts a killed stdio server (with backoff) and the next call works', async () => {
    const first = await runWithTool('files__pid', {}, 'toolu_pid1');
    const pid1 = Number((await callOf(first.run.id)).output);
    expect(pid1).toBeGreaterThan(0);
    process.kill(pid1, 'SIGKILL');
    await untilValue(
      async () => logs.some((l) => l.msg === 'MCP server reconnected'),
      (v) => v,
    );
    const second = await runWithTool('files__pid', {}, 'toolu_pid2');
    const call = await callOf(second.run.id);
    expect(call.state).toBe('succeeded');
    expect(Number(call.output)).not.toBe(pid1);
    expect(logs.some((l) => l.msg === 'MCP server connection lost; reconnecting')).toBe(true);
  });

  it('never logs the env secret: the server stderr line is logged scrubbed', async () => {
    const stderr = logs.filter((l) => l.msg === 'MCP server stderr').map((l) => String(l.obj.stderr));
    expect(stderr.some((line) => line.includes('(token ***)'))).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });
});

describe('MCP server config', { timeout: 120_000 }, () => {
  it('refuses a bad server config before connecting: ConfigError naming the field', () => {
    const make = (mcpServers: unknown) =>
      new AgentPG({ databaseUrl: 'postgres://x@localhost/db', mcpServers: mcpServers as never });
    expect(() => make([{ name: 'bad name', transport: { type: 'stdio', command: 'x' } }])).toThrow(ConfigError);
    expect(() => make([{ name: 'a', transport: { type: 'ftp', url: 'ftp://x' } }])).toThrow(/mcpServers/);
    expect(() => make([{ name: 'a', transport: { type: 'http', url: 'not a url' } }])).toThrow(/http/);
    expect(() =>
      make([
        { name: 'a', transport: { type: 'stdio', command: 'x' } },
        { name: 'a', transport: { type: 'stdio', command: 'y' } },
      ]),
    ).toThrow(/unique/);
  });

  test('fails start() for an unreachable server, or starts without its tools when it is optional', async ({
    startClient,
  }) => {
    const server = {
      name: 'ghost',
      transport: { type: 'stdio' as const, command: '/nonexistent/mcp-server', env: { GHOST_KEY: TOKEN } },
      startTimeoutMs: 500,
    };
    const agents = [defineAgent({ name: 'ghost-user', model: MODEL, tools: ['ghost__anything'] })];
    const quiet = captureLogger([]);
    const err = await startClient({ mcpServers: [server], agents, logger: quiet }).catch((e) => e);
    expect(err).toMatchObject({ code: 'mcp_unavailable' });
    expect(err.message).toMatch(/MCP server "ghost" unreachable within 500 ms: .*ENOENT/);
    expect(err.message).not.toContain(TOKEN);

    const optional = await startClient({ mcpServers: [{ ...server, optional: true }], agents, logger: quiet });
    expect(optional.registry.isCapable('ghost-user')).toBe(false);
    expect(optional.registry.missingTools.get('ghost-user')).toEqual(['ghost__anything']);
  });
});
