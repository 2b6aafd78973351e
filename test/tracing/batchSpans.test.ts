/**
 * [batch] The spans of a batch-mode run (src/tracing/runTrace.ts batchedModelCall): each model call
 * made through the Message Batches API is a `chat <model>` span like a streamed call's, with the
 * same attributes, child of the execution that applied its result, timed from the request's
 * storage to its result's storage, with the batch's id and the request's custom id; a result not
 * worth another try makes it an ERROR span with the API's error type.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic, type FakeReply, type FakeRequest } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/until.js';
import { untilStartPassDone } from '../batch/helpers.js';
import { MODEL, startClient } from '../runs/helpers.js';
import { registerInMemorySdk } from './helpers.js';

const { exporter, unregister } = registerInMemorySdk();
const testTracer = trace.getTracer('agentpg-tests');

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up.',
  inputSchema: z.object({ word: z.string() }),
  execute: ({ word }) => `${word} means something`,
});

/** `lookup:<word>` asks for the tool, then answers; `fail:<status>` answers that error. */
function responder(req: FakeRequest): FakeReply {
  const first = req.body.messages[0];
  const prompt = typeof first.content === 'string' ? first.content : ((first.content[0] as any)?.text ?? '');
  const last = req.body.messages.at(-1)!;
  const answered = Array.isArray(last.content) && (last.content as any[]).some((b) => b.type === 'tool_result');
  if (answered)
    return {
      text: 'done',
      usage: { input_tokens: 200, output_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 0 },
    };
  const f = /^fail:(\d+)$/.exec(prompt);
  if (f) return { error: { status: Number(f[1]) } };
  const m = /^lookup:(\w+)$/.exec(prompt);
  return {
    toolUses: [{ name: 'lookup', input: { word: m?.[1] ?? 'x' } }],
    usage: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  };
}

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic({ responder, batchProcessingDelayMs: 100 });
  client = await startClient(db, fake, {
    // No cache breakpoints: the fake's cache simulation would add cache tokens to the pinned usage.
    agents: [
      defineAgent({ name: 'nightly', model: MODEL, tools: ['lookup'], batch: true, maxTokens: 300, cache: false }),
    ],
    tools: [lookup],
    // Passes are run by the test; the scheduled one offers one at start, then none for an hour.
    batch: { pollIntervalMs: 3_600_000 },
  });
  await untilStartPassDone(db);
}, 90_000);

afterAll(async () => {
  await client?.stop();
  await fake?.close();
  await db?.drop();
  await unregister();
});

const spansOfTrace = (traceId: string) =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

/** Enqueues inside a caller span, runs poll passes until the run ended and its last execution span did. */
async function batchRun(prompt: string, identifier: string) {
  const agent = client.agent('nightly');
  const sessionId = await agent.newSession({ tenantId: 'tenant-b', identifier });
  const { runId, traceId } = await testTracer.startActiveSpan('caller', async (span) => {
    const id = await agent.enqueue(sessionId, prompt);
    span.end();
    return { runId: id, traceId: span.spanContext().traceId };
  });
  await until(
    async () => {
      await client.runBatchPass();
      return ['completed', 'failed'].includes((await client.runs.get(runId))!.state);
    },
    30_000,
    100,
  );
  const run = (await client.runs.get(runId))!;
  await until(() =>
    named(spansOfTrace(traceId), 'invoke_agent nightly').some((s) =>
      ['completed', 'failed'].includes(s.attributes['agentpg.run.state'] as string),
    ),
  );
  const requests = await db.query(
    `select q.custom_id, q.created_at, q.ended_at, q.try, s.batch_id
       from agentpg_batch_requests q join agentpg_batch_submissions s on s.id = q.submission_id
      where q.run_id = $1 order by q.turn, q.try`,
    [runId],
  );
  return { run, runId, spans: spansOfTrace(traceId), requests };
}

describe('spans of batched model calls', () => {
  it('one chat span per batched call, from its request to its stored result, under the execution that applied it', async () => {
    const { run, runId, spans, requests } = await batchRun('lookup:otel', 'batch-trace');
    expect(run.state).toBe('completed');
    expect(fake.stats.received).toBe(0); // no direct Messages API call: both went through batches

    const chats = named(spans, `chat ${MODEL}`).sort((a, b) => ms(a.startTime) - ms(b.startTime));
    expect(chats).toHaveLength(2);
    expect(requests).toHaveLength(2);
    const executions = named(spans, 'invoke_agent nightly');
    // Three executions: each call suspended one (batch_requested), the last finalized the run.
    expect(executions.map((e) => e.attributes['agentpg.run.outcome'])).toEqual(['suspended', 'suspended', 'finished']);
    expect(named(spans, 'execute_tool lookup')).toHaveLength(1);

    for (const [i, chat] of chats.entries()) {
      const req = requests[i];
      expect(chat.kind).toBe(SpanKind.CLIENT);
      expect(chat.status.code).toBe(SpanStatusCode.UNSET);
      // Child of the execution that applied the result: the one after the one that requested it.
      const parent = executions.find((e) => e.spanContext().spanId === chat.parentSpanContext?.spanId);
      expect(parent, `chat ${i} has an execution as parent`).toBeDefined();
      expect(parent!.attributes['agentpg.run.attempt']).toBe(i + 2);
      // From the request's storage to its result's (database clock and ours: the same machine).
      expect(ms(chat.startTime)).toBeCloseTo(req.created_at.getTime(), 0);
      expect(ms(chat.endTime)).toBeCloseTo(req.ended_at.getTime(), 0);
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'anthropic',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': MODEL,
        'gen_ai.request.max_tokens': 300,
        'gen_ai.response.model': MODEL,
        'agentpg.run.id': runId,
        'agentpg.tenant.id': 'tenant-b',
        'gen_ai.agent.name': 'nightly',
        'agentpg.run.attempt': i + 2,
        'agentpg.model_call.batch': true,
        'agentpg.batch.custom_id': req.custom_id,
        'agentpg.batch.id': req.batch_id,
        'agentpg.model_call.retries': 0,
      });
      expect(chat.attributes['gen_ai.response.id']).toMatch(/^msg_/);
    }
    expect(chats[0].attributes).toMatchObject({
      'gen_ai.response.finish_reasons': ['tool_use'],
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 10,
      'agentpg.usage.input_tokens': 100,
    });
    expect(chats[1].attributes).toMatchObject({
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.usage.input_tokens': 207,
      'gen_ai.usage.cache_read.input_tokens': 7,
      'gen_ai.usage.output_tokens': 20,
      'agentpg.usage.input_tokens': 200,
    });
    // Each call's tokens count in the execution that stored them.
    expect(executions.map((e) => e.attributes['agentpg.usage.input_tokens'])).toEqual([0, 100, 200]);
  });

  it('a result not worth another try: an ERROR chat span with the API’s error type, the run failed with it', async () => {
    const { run, spans, requests } = await batchRun('fail:400', 'batch-trace-fail');
    expect(run).toMatchObject({ state: 'failed', errorType: 'invalid_request_error' });
    const [chat, ...more] = named(spans, `chat ${MODEL}`);
    expect(more).toEqual([]);
    expect(chat.status.code).toBe(SpanStatusCode.ERROR);
    expect(chat.attributes).toMatchObject({
      'error.type': 'invalid_request_error',
      'agentpg.model_call.batch': true,
      'agentpg.batch.custom_id': requests[0].custom_id,
      'agentpg.model_call.retries': 0,
    });
    expect(chat.attributes['gen_ai.response.id']).toBeUndefined();
  });
});
