import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { afterAll, expect } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { TRACED_MODEL, tracedAgents, tracedTools } from '../fixtures/tracing-defs.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';
import { readSpanFile, recordOf, registerInMemorySdk } from './helpers.js';

const childScript = fileURLToPath(new URL('../fixtures/tracing-child.ts', import.meta.url));
const spansFile = path.join(os.tmpdir(), `agentpg-trace-child-${randomUUID()}.jsonl`);
const { exporter, unregister } = registerInMemorySdk();
let child: ChildProcess | null = null;

afterAll(async () => {
  child?.kill('SIGKILL');
  fs.rmSync(spansFile, { force: true });
  await unregister();
});

/** Resolves when the child prints a line matching `re`; rejects if it exits first. */
function lineOf(proc: ChildProcess, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (l) => {
      if (re.test(l.trim())) resolve();
    });
    proc.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before ${re}`)));
  });
}

test('a run resumed on another instance after a SIGKILL stays in one trace: both executions parent on the stored traceparent', async ({
  db,
  fake,
  startClient,
}) => {
  fake.enqueue({ toolUses: [{ id: 'toolu_resume', name: 'lookup', input: { q: 'otel' } }] }, { text: 'found it' });
  child = spawn(process.execPath, ['--import', 'tsx', childScript], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      FAKE_URL: fake.url,
      INSTANCE_ID: 'trace-child',
      SPANS_FILE: spansFile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const toolStarted = lineOf(child, /^TOOL 1$/);
  toolStarted.catch(() => {}); // awaited below; not unhandled if the test fails before
  await lineOf(child, /^READY$/);

  // This process enqueues inside a span of its own. It knows the agent but not its tool, so it
  // never fetches the run (capability routing): the child executes it.
  const enqueuer = await startClient({
    instanceId: 'trace-enqueuer',
    agents: tracedAgents,
    logger: createLogger({ level: 'error' }),
  });
  const sessionId = await enqueuer.agent('traced').newSession({ tenantId: 'tenant-r', identifier: 'resume' });
  const { runId, caller } = await trace.getTracer('agentpg-tests').startActiveSpan('caller', async (span) => {
    const runId = await enqueuer.agent('traced').enqueue(sessionId, 'look it up');
    span.end();
    return { runId, caller: span.spanContext() };
  });

  // The child executes the run and dies inside the tool call.
  await toolStarted;
  child.kill('SIGKILL');
  await once(child, 'exit');
  child = null;

  // A second instance (this process) takes the run over: its cleanup hands the dead instance's run back.
  const survivor = await startClient({
    instanceId: 'trace-survivor',
    agents: tracedAgents,
    tools: tracedTools,
    heartbeatIntervalMs: 300,
    instanceTtlMs: 1500,
    cleanupIntervalMs: 1000,
    logger: createLogger({ level: 'error' }),
  });
  const run = await survivor.runs.wait(runId, { timeoutMs: 45_000 });
  expect(run).toMatchObject({
    state: 'completed',
    responseText: 'found it',
    attempts: 2,
    instanceId: 'trace-survivor',
  });
  await until(() => exporter.getFinishedSpans().some((s) => s.name === 'invoke_agent traced'));

  // Stored at enqueue: the enqueue span (child of the caller's span) is every execution's parent.
  const here = exporter.getFinishedSpans().map((s) => recordOf(s));
  const enqueue = here.find((s) => s.name === 'enqueue_run traced')!;
  expect(enqueue).toMatchObject({ traceId: caller.traceId, parentSpanId: caller.spanId });
  expect(run.traceParent).toBe(`00-${caller.traceId}-${enqueue.spanId}-01`);

  // The killed child's first execution: its span started under the stored context, its model
  // call ended, its tool call and the execution itself never ended (SIGKILL).
  const there = readSpanFile(spansFile).filter((s) => s.attributes['agentpg.run.id'] === runId);
  const firstExec = there.find((s) => s.name === 'invoke_agent traced' && s.event === 'start')!;
  expect(firstExec).toMatchObject({ traceId: caller.traceId, parentSpanId: enqueue.spanId });
  expect(firstExec.attributes).toMatchObject({ 'agentpg.run.attempt': 1, 'agentpg.instance.id': 'trace-child' });
  const byFirst = there.filter((s) => s.parentSpanId === firstExec.spanId);
  expect(byFirst.map((s) => `${s.event} ${s.name}`)).toEqual([
    `start chat ${TRACED_MODEL}`,
    `end chat ${TRACED_MODEL}`,
    'start execute_tool lookup',
  ]);
  expect(there.some((s) => s.event === 'end' && s.name === 'invoke_agent traced')).toBe(false);

  // The survivor's execution: same trace, same parent, its own span; the tool call again
  // (attempt 2, the same tool_use id) and the final model call under it.
  const resumed = here.find((s) => s.name === 'invoke_agent traced')!;
  expect(resumed).toMatchObject({ traceId: caller.traceId, parentSpanId: enqueue.spanId });
  expect(resumed.spanId).not.toBe(firstExec.spanId);
  expect(resumed.attributes).toMatchObject({
    'agentpg.run.id': runId,
    'agentpg.run.attempt': 2,
    'agentpg.instance.id': 'trace-survivor',
    'agentpg.run.state': 'completed',
  });
  const byResumed = here.filter((s) => s.parentSpanId === resumed.spanId && s.attributes['agentpg.run.id'] === runId);
  expect(byResumed.map((s) => s.name)).toEqual(['execute_tool lookup', `chat ${TRACED_MODEL}`]);
  expect(byResumed[0].attributes).toMatchObject({
    'gen_ai.tool.call.id': 'toolu_resume',
    'agentpg.tool_call.attempt': 2,
  });
  expect(byResumed.every((s) => s.traceId === caller.traceId)).toBe(true);
});
