import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { expect } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool } from '../../src/index.js';
import { test } from '../helpers/fixtures.js';

// No OpenTelemetry SDK in this file's process (vitest runs each file in its own): the API's no-op.
const seen: Array<{ recording: boolean; active: boolean; rootContext: boolean }> = [];
const probe = defineTool({
  name: 'probe',
  description: 'Reports what tracing looks like from inside a tool.',
  inputSchema: z.object({}),
  execute() {
    const span = trace.getTracer('agentpg-tests').startSpan('inside the tool');
    seen.push({
      recording: span.isRecording(),
      active: trace.getActiveSpan() !== undefined,
      rootContext: context.active() === ROOT_CONTEXT,
    });
    span.end();
    return 'probed';
  },
});
const agents = [defineAgent({ name: 'untraced', model: 'claude-sonnet-5-5', tools: ['probe'] })];

test('with no SDK registered runs work as before, and only a traceparent the caller gives is stored', async ({
  db,
  fake,
  startClient,
}) => {
  const client = await startClient({ agents, tools: [probe] });
  const agent = client.agent('untraced');
  const sessionId = await agent.newSession({ tenantId: 't', identifier: 'no-sdk' });
  const traceColumns = (runId: string) =>
    db.query(`select trace_parent, metadata from agentpg_runs where id = $1`, [runId]).then((r) => r[0]);

  // No trace context anywhere: nothing is stored, the run with its tool call completes.
  fake.enqueue({ toolUses: [{ name: 'probe', input: {} }] }, { text: 'done' });
  const plain = await agent.run(sessionId, 'probe it', { timeoutMs: 30_000 });
  expect(plain.text).toBe('done');
  expect(plain.run.traceParent).toBeNull();
  expect(await traceColumns(plain.run.id)).toEqual({ trace_parent: null, metadata: {} });
  expect(seen).toEqual([{ recording: false, active: false, rootContext: true }]);

  // A traceparent the caller passes (e.g. the service's request header) is stored as given: the
  // no-op enqueue span carries its parent's context, so a traced instance later joins that trace.
  const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  fake.enqueue({ text: 'joined' });
  const joined = await agent.run(sessionId, 'join the trace', { traceParent: given, timeoutMs: 30_000 });
  expect(joined.text).toBe('joined');
  expect(joined.run.traceParent).toBe(given);
  expect(await traceColumns(joined.run.id)).toEqual({ trace_parent: given, metadata: {} });
});
