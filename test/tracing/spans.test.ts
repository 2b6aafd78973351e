import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, describe, expect } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, ValidationError, type AgentPG } from '../../src/index.js';
import { test as base } from '../helpers/fixtures.js';
import { hangingTool, throwingTool } from '../helpers/tools.js';
import { until } from '../helpers/until.js';
import { registerInMemorySdk, traceParentIds } from './helpers.js';

const MODEL = 'claude-sonnet-5-5';
const { exporter, unregister } = registerInMemorySdk();
const testTracer = trace.getTracer('agentpg-tests');

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up; traces its own work.',
  inputSchema: z.object({ q: z.string() }),
  async execute({ q }) {
    // A tool's own span, in the active context (no parent passed): it must nest under the tool span.
    return await testTracer.startActiveSpan('lookup.inner', async (span) => {
      span.end();
      return `found ${q}`;
    });
  },
});
const broken = throwingTool('broken');
const stuck = hangingTool('stuck', 100);
const guarded = defineTool({
  name: 'guarded',
  description: 'Needs a person’s approval.',
  inputSchema: z.object({}),
  needsApproval: true,
  execute: () => 'approved and done',
});
const agents = [
  defineAgent({ name: 'traced', model: MODEL, tools: ['lookup', 'broken', 'stuck', 'guarded'], maxTokens: 512 }),
];

const test = base.extend('client', { scope: 'file' }, async ({ startClient }) =>
  startClient({ agents, tools: [lookup, broken, stuck, guarded] }),
);
afterAll(async () => {
  await unregister();
});

const spansOfTrace = (traceId: string) =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const startOf = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];

/** Enqueues inside an active span of the caller's, waits for the run and for its execution span to end. */
async function runInCallerSpan(client: AgentPG, prompt: string, sessionId: string) {
  const { runId, caller } = await testTracer.startActiveSpan('caller', async (span) => {
    const runId = await client.agent('traced').enqueue(sessionId, prompt);
    span.end();
    return { runId, caller: span.spanContext() };
  });
  const run = await client.runs.wait(runId, { timeoutMs: 30_000 });
  // runs.wait resolves at the finalize COMMIT; the execution span ends right after.
  await until(() => named(spansOfTrace(caller.traceId), 'invoke_agent traced').length > 0);
  return { run, caller, spans: spansOfTrace(caller.traceId) };
}

describe('traces', () => {
  test('one run with a tool call is one trace: caller > enqueue > run > (model call, tool call > the tool’s own span, model call)', async ({
    db,
    fake,
    client,
  }) => {
    fake.enqueue(
      {
        toolUses: [{ id: 'toolu_trace_1', name: 'lookup', input: { q: 'otel' } }],
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 5 },
      },
      {
        text: 'It means OpenTelemetry.',
        usage: { input_tokens: 7, output_tokens: 11, cache_read_input_tokens: 135, cache_creation_input_tokens: 0 },
      },
    );
    const sessionId = await client.agent('traced').newSession({ tenantId: 'tenant-a', identifier: 'trace-1' });
    const { run, caller, spans } = await runInCallerSpan(client, 'what is otel?', sessionId);
    expect(run.state).toBe('completed');

    // Exactly these spans of agentpg and of the test, all in the caller's trace.
    const ours = spans.filter((s) => ['agentpg', 'agentpg-tests'].includes(s.instrumentationScope.name));
    expect(ours.map((s) => s.name).sort()).toEqual(
      [
        'caller',
        'enqueue_run traced',
        'invoke_agent traced',
        `chat ${MODEL}`,
        'execute_tool lookup',
        'lookup.inner',
        `chat ${MODEL}`,
      ].sort(),
    );
    // The fetch loop is a background loop: the enqueue woke it, but its receive is not part of the
    // caller's trace (nor would every later poll of it be). A lone enqueue inserts the job in
    // agentpg's own statement (sql/enqueueLoneRun.ts), inside the enqueue span: no pg-boss insert span.
    expect(named(spans, 'receive agentpg_runs')).toEqual([]);
    expect(named(spans, 'insert agentpg_runs')).toEqual([]);
    const [enqueue] = named(spans, 'enqueue_run traced');
    const [exec] = named(spans, 'invoke_agent traced');
    const chats = named(spans, `chat ${MODEL}`).sort((a, b) => startOf(a) - startOf(b));
    const [tool] = named(spans, 'execute_tool lookup');
    const [inner] = named(spans, 'lookup.inner');

    // The tree, and the order of the execution's children.
    expect(parentOf(enqueue)).toBe(caller.spanId);
    expect(parentOf(exec)).toBe(enqueue.spanContext().spanId);
    for (const child of [...chats, tool]) expect(parentOf(child)).toBe(exec.spanContext().spanId);
    expect(parentOf(inner)).toBe(tool.spanContext().spanId);
    // The model call runs inside its span: the Anthropic SDK's own span of the request nests under it.
    const sdkCalls = named(spans, 'anthropic.messages.create');
    expect(sdkCalls.map(parentOf).sort()).toEqual(chats.map((c) => c.spanContext().spanId).sort());
    expect(startOf(chats[0])).toBeLessThan(startOf(tool));
    expect(startOf(tool)).toBeLessThan(startOf(chats[1]));
    expect([enqueue.kind, exec.kind, chats[0].kind, tool.kind]).toEqual([
      SpanKind.PRODUCER,
      SpanKind.INTERNAL,
      SpanKind.CLIENT,
      SpanKind.INTERNAL,
    ]);

    // The run row carries the enqueue span's context: what every execution parents on.
    expect(run.traceParent).toBe(`00-${caller.traceId}-${enqueue.spanContext().spanId}-01`);
    const [row] = await db.query(`select trace_parent from agentpg_runs where id = $1`, [run.id]);
    expect(row.trace_parent).toBe(run.traceParent);

    const common = {
      'agentpg.run.id': run.id,
      'agentpg.session.id': sessionId,
      'agentpg.tenant.id': 'tenant-a',
      'gen_ai.agent.name': 'traced',
      'agentpg.run.attempt': 1,
    };
    expect(enqueue.attributes).toEqual({
      'gen_ai.agent.name': 'traced',
      'agentpg.session.id': sessionId,
      'agentpg.run.id': run.id,
      'agentpg.enqueue.existing': false,
    });
    expect(exec.attributes).toEqual({
      ...common,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.system': 'anthropic',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.conversation.id': sessionId,
      'gen_ai.request.model': MODEL,
      'agentpg.instance.id': client.instanceId,
      'agentpg.run.outcome': 'finished',
      'agentpg.run.state': 'completed',
      'agentpg.run.stop_reason': 'end_turn',
      // The convention's input_tokens counts cache reads and writes; agentpg.usage.input_tokens is Anthropic's.
      'gen_ai.usage.input_tokens': 100 + 30 + 5 + 7 + 135,
      'gen_ai.usage.output_tokens': 31,
      'gen_ai.usage.cache_read.input_tokens': 165,
      'gen_ai.usage.cache_creation.input_tokens': 5,
      'agentpg.usage.input_tokens': 107,
    });
    expect(exec.status.code).toBe(SpanStatusCode.UNSET);
    expect(chats[0].attributes).toEqual({
      ...common,
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'anthropic',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': MODEL,
      'gen_ai.request.max_tokens': 512,
      'gen_ai.response.id': expect.stringMatching(/^msg_/),
      'gen_ai.response.model': MODEL,
      'gen_ai.response.finish_reasons': ['tool_use'],
      'gen_ai.usage.input_tokens': 135,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.usage.cache_read.input_tokens': 30,
      'gen_ai.usage.cache_creation.input_tokens': 5,
      'agentpg.usage.input_tokens': 100,
      'agentpg.model_call.retries': 0,
    });
    expect(chats[1].attributes).toMatchObject({
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.usage.input_tokens': 142,
      'gen_ai.usage.output_tokens': 11,
    });
    expect(tool.attributes).toEqual({
      ...common,
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup',
      'gen_ai.tool.call.id': 'toolu_trace_1',
      'gen_ai.tool.type': 'function',
      'agentpg.tool_call.attempt': 1,
      'agentpg.tool_call.duration_ms': expect.any(Number),
    });
    expect(tool.status.code).toBe(SpanStatusCode.UNSET);
    // The run's own token totals agree with the spans'.
    expect(run.inputTokens).toBe(107);
  });

  test('error types: failing tool calls, a retried model call, a model call that fails for good and the run it fails', async ({
    fake,
    client,
  }) => {
    fake.enqueue(
      {
        toolUses: [
          { id: 'toolu_trace_2', name: 'broken', input: {} },
          { id: 'toolu_trace_3', name: 'stuck', input: {} },
          { id: 'toolu_trace_4', name: 'lookup', input: { q: 42 } },
          { id: 'toolu_trace_5', name: 'nope', input: {} },
        ],
      },
      { error: { status: 529, retryAfterMs: 10 } },
      { error: { status: 400, message: 'messages: bad request' } },
    );
    const sessionId = await client.agent('traced').newSession({ tenantId: 'tenant-b', identifier: 'trace-2' });
    const { runId, caller } = await testTracer.startActiveSpan('caller', async (span) => {
      const runId = await client.agent('traced').enqueue(sessionId, 'break things');
      span.end();
      return { runId, caller: span.spanContext() };
    });
    await client.runs.wait(runId, { timeoutMs: 30_000 });
    await until(() => named(spansOfTrace(caller.traceId), 'invoke_agent traced').length > 0);
    const spans = spansOfTrace(caller.traceId);

    // Each failed tool call: error.type says why, status ERROR; the run goes on.
    const tools = spans.filter((s) => s.name.startsWith('execute_tool '));
    expect(
      Object.fromEntries(
        tools.map((t) => [t.attributes['gen_ai.tool.call.id'], [t.attributes['error.type'], t.status.code]]),
      ),
    ).toEqual({
      toolu_trace_2: ['tool_error', SpanStatusCode.ERROR],
      toolu_trace_3: ['timeout', SpanStatusCode.ERROR],
      toolu_trace_4: ['invalid_input', SpanStatusCode.ERROR],
      toolu_trace_5: ['unknown_tool', SpanStatusCode.ERROR],
    });

    const chats = named(spans, `chat ${MODEL}`).sort((a, b) => startOf(a) - startOf(b));
    expect(chats).toHaveLength(2);
    const failed = chats[1];
    expect(failed.attributes).toMatchObject({
      'error.type': 'invalid_request_error',
      'agentpg.model_call.retries': 1,
    });
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'messages: bad request' });
    expect(
      failed.events.map((e) => [e.name, e.attributes?.['error.type'], e.attributes?.['http.response.status_code']]),
    ).toEqual([['agentpg.model_call.retry', 'overloaded_error', 529]]);

    const [exec] = named(spans, 'invoke_agent traced');
    expect(exec.attributes).toMatchObject({
      'agentpg.run.id': runId,
      'agentpg.tenant.id': 'tenant-b',
      'agentpg.run.state': 'failed',
      'agentpg.run.outcome': 'finished',
      'error.type': 'invalid_request_error',
    });
    expect(exec.status.code).toBe(SpanStatusCode.ERROR);
  });

  test('joins an explicit traceparent (e.g. from a request header) and the caller transaction’s context; refuses a malformed one', async ({
    db,
    fake,
    client,
  }) => {
    const agent = client.agent('traced');
    const sessionId = await agent.newSession({ tenantId: 'tenant-a', identifier: 'trace-3' });

    // Explicit: no active span here, the given context is the parent.
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    fake.enqueue({ text: 'explicit' });
    const runId = await agent.enqueue(sessionId, 'explicit parent', { traceParent: given });
    await client.runs.wait(runId, { timeoutMs: 30_000 });
    const { traceId, spanId } = traceParentIds(given);
    await until(() => named(spansOfTrace(traceId), 'invoke_agent traced').length > 0);
    const [enqueue] = named(spansOfTrace(traceId), 'enqueue_run traced');
    expect(parentOf(enqueue)).toBe(spanId);
    const [stored] = await db.query(`select trace_parent from agentpg_runs where id = $1`, [runId]);
    expect(stored.trace_parent).toBe(`00-${traceId}-${enqueue.spanContext().spanId}-01`);

    // Inside the caller's transaction: stored with it (a second statement in that transaction).
    const pgClient = new pg.Client({ connectionString: db.url });
    await pgClient.connect();
    try {
      fake.enqueue({ text: 'in a transaction' });
      const { txRunId, caller } = await testTracer.startActiveSpan('caller-tx', async (span) => {
        await pgClient.query('begin');
        const txRunId = await agent.enqueue(sessionId, 'in the caller transaction', { db: pgClient });
        await pgClient.query('commit');
        span.end();
        return { txRunId, caller: span.spanContext() };
      });
      const run = await client.runs.wait(txRunId, { timeoutMs: 30_000 });
      await until(() => named(spansOfTrace(caller.traceId), 'invoke_agent traced').length > 0);
      const [txEnqueue] = named(spansOfTrace(caller.traceId), 'enqueue_run traced');
      expect(parentOf(txEnqueue)).toBe(caller.spanId);
      expect(run.traceParent).toBe(`00-${caller.traceId}-${txEnqueue.spanContext().spanId}-01`);
    } finally {
      await pgClient.end();
    }

    for (const bad of ['nope', '00-00000000000000000000000000000000-b7ad6b7169203331-01', `ff-${given.slice(3)}`])
      await expect(agent.enqueue(sessionId, 'bad parent', { traceParent: bad })).rejects.toBeInstanceOf(
        ValidationError,
      );
  });

  test('a run enqueued with no trace context (plain SQL) gets its first execution’s: the execution after an approval wait joins it', async ({
    db,
    fake,
    client,
  }) => {
    const sessionId = await client.agent('traced').newSession({ tenantId: 'tenant-a', identifier: 'trace-4' });
    fake.enqueue({ toolUses: [{ id: 'toolu_guarded', name: 'guarded', input: {} }] }, { text: 'all done' });
    const [{ id: runId }] = await db.query(`select agentpg_enqueue_run($1, 'traced', 'guard it', null, '{}') as id`, [
      sessionId,
    ]);
    const execsOf = () =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.name === 'invoke_agent traced' && s.attributes['agentpg.run.id'] === runId);

    // The first execution stops at the approval: it started a trace and stored its own context.
    await until(() => execsOf().length === 1);
    const [first] = execsOf();
    expect(first.parentSpanContext).toBeUndefined();
    expect(first.attributes['agentpg.run.outcome']).toBe('suspended');
    const [row] = await db.query(`select trace_parent from agentpg_runs where id = $1`, [runId]);
    expect(row.trace_parent).toBe(`00-${first.spanContext().traceId}-${first.spanContext().spanId}-01`);

    await client.approvals.decide(runId, { toolUseId: 'toolu_guarded', decision: 'approve', decidedBy: 'alice' });
    expect((await client.runs.wait(runId, { timeoutMs: 30_000 })).state).toBe('completed');
    await until(() => execsOf().length === 2);
    const second = execsOf().find((s) => s !== first)!;
    expect(second.spanContext().traceId).toBe(first.spanContext().traceId);
    expect(parentOf(second)).toBe(first.spanContext().spanId);
    expect(second.attributes).toMatchObject({ 'agentpg.run.attempt': 2, 'agentpg.run.state': 'completed' });
    const children = spansOfTrace(first.spanContext().traceId).filter(
      (s) => parentOf(s) === second.spanContext().spanId && s.instrumentationScope.name === 'agentpg',
    );
    expect(children.map((s) => s.name).sort()).toEqual([`chat ${MODEL}`, 'execute_tool guarded'].sort());
  });
});
