import { describe, expect } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, RunFailedError } from '../../src/index.js';
import { stripCacheControl } from '../../src/testing/index.js';
import { test as base, type TestDatabase } from '../helpers/fixtures.js';
import { hangingTool, throwingTool } from '../helpers/tools.js';
import { assertValidTranscript, MODEL } from './helpers.js';
import { until } from '../helpers/until.js';

// Concurrency probe for the slow tool: how many executions overlap, and their time windows.
let running = 0;
let maxRunning = 0;
const windows: Array<{ start: number; end: number }> = [];
const contexts: Array<{ idempotencyKey: string; attempt: number }> = [];

const slow = defineTool({
  name: 'slow',
  description: 'Waits, then echoes its id.',
  inputSchema: z.object({ id: z.number() }),
  async execute({ id }, ctx) {
    contexts.push({ idempotencyKey: ctx.idempotencyKey, attempt: ctx.attempt });
    const start = Date.now();
    running++;
    maxRunning = Math.max(maxRunning, running);
    // Held until every call of the turn has started: passes only if they run concurrently
    // (sequential execution would time out here).
    await until(() => maxRunning >= 3, 10_000, 5);
    running--;
    windows.push({ start, end: Date.now() });
    return { echoed: id };
  },
});
const boom = throwingTool('boom');
const jsonSchemaTool = defineTool({
  name: 'add',
  description: 'Adds two integers (plain JSON Schema).',
  inputSchema: {
    type: 'object',
    properties: { a: { type: 'integer' }, b: { type: 'integer' } },
    required: ['a', 'b'],
    additionalProperties: false,
  },
  execute: ({ a, b }: { a: number; b: number }) => String(a + b),
});
const hang = hangingTool('hang', 200);

const test = base.extend('client', { scope: 'file' }, async ({ startClient }) =>
  startClient({
    agents: [
      defineAgent({ name: 'worker', model: MODEL, tools: ['slow', 'boom', 'add', 'hang'] }),
      defineAgent({ name: 'looper', model: MODEL, tools: ['add'] }),
    ],
    tools: [slow, boom, jsonSchemaTool, hang],
    maxToolIterations: 2,
  }),
);

async function transcript(db: TestDatabase, runId: string) {
  return await db.query<{ role: string; content: any[] }>(
    `select role, content from agentpg_messages where run_id = $1 order by seq`,
    [runId],
  );
}

describe('the tool loop', () => {
  test('runs the tool_use blocks of one turn concurrently and stores each call', async ({ db, fake, client }) => {
    fake.enqueue(
      {
        text: 'Let me run three things.',
        toolUses: [
          { id: 'toolu_a', name: 'slow', input: { id: 1 } },
          { id: 'toolu_b', name: 'slow', input: { id: 2 } },
          { id: 'toolu_c', name: 'slow', input: { id: 3 } },
        ],
      },
      { text: 'All three done.' },
    );
    const agent = client.agent('worker');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'par' });
    const res = await agent.run(sessionId, 'go');
    expect(res.text).toBe('All three done.');
    expect(res.run.toolIterations).toBe(1);
    expect(maxRunning).toBe(3);
    // Every window overlaps every other: all three started before any finished.
    const latestStart = Math.max(...windows.map((w) => w.start));
    const earliestEnd = Math.min(...windows.map((w) => w.end));
    expect(latestStart).toBeLessThanOrEqual(earliestEnd);
    expect(contexts.map((c) => c.idempotencyKey).sort()).toEqual(['toolu_a', 'toolu_b', 'toolu_c']);
    expect(contexts.every((c) => c.attempt === 1)).toBe(true);

    const calls = await db.query(
      `select tool_use_id, tool_name, input, state, output, is_error, attempts, started_at, finished_at
         from agentpg_tool_calls where run_id = $1 order by tool_use_id`,
      [res.run.id],
    );
    expect(calls.map((c) => [c.tool_use_id, c.state, c.output, c.is_error, c.attempts])).toEqual([
      ['toolu_a', 'succeeded', '{"echoed":1}', false, 1],
      ['toolu_b', 'succeeded', '{"echoed":2}', false, 1],
      ['toolu_c', 'succeeded', '{"echoed":3}', false, 1],
    ]);
    // In the database too: the calls' [started_at, finished_at] ranges overlap.
    const maxStart = Math.max(...calls.map((c) => c.started_at.getTime()));
    const minEnd = Math.min(...calls.map((c) => c.finished_at.getTime()));
    expect(maxStart).toBeLessThanOrEqual(minEnd);

    // The model got the results in tool_use order, in one user message.
    const second = stripCacheControl(fake.requests.at(-1)!.body).messages!;
    expect(second.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: '{"echoed":1}' },
        { type: 'tool_result', tool_use_id: 'toolu_b', content: '{"echoed":2}' },
        { type: 'tool_result', tool_use_id: 'toolu_c', content: '{"echoed":3}' },
      ],
    });
    const stored = await transcript(db, res.run.id);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    assertValidTranscript(stored);
  });

  test('turns a throwing tool, invalid input, an unknown tool and a timeout into is_error results, and goes on', async ({
    db,
    fake,
    client,
  }) => {
    fake.enqueue(
      {
        toolUses: [
          { id: 'toolu_boom', name: 'boom', input: {} },
          { id: 'toolu_bad', name: 'add', input: { a: 'one', b: 2 } },
          { id: 'toolu_missing', name: 'no_such_tool', input: {} },
          { id: 'toolu_hang', name: 'hang', input: {} },
          { id: 'toolu_ok', name: 'add', input: { a: 2, b: 3 } },
        ],
      },
      { text: 'Handled the errors.' },
    );
    const agent = client.agent('worker');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'errors' });
    const res = await agent.run(sessionId, 'go');
    expect(res.run.state).toBe('completed');
    expect(res.text).toBe('Handled the errors.');
    const results = stripCacheControl(fake.requests.at(-1)!.body).messages!.at(-1)!.content as any[];
    const byId = Object.fromEntries(results.map((r) => [r.tool_use_id, r]));
    expect(byId.toolu_boom).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_boom',
      content: 'the tool exploded',
      is_error: true,
    });
    expect(byId.toolu_bad.is_error).toBe(true);
    expect(byId.toolu_bad.content).toMatch(/invalid input for tool "add".*a/);
    expect(byId.toolu_missing).toMatchObject({
      is_error: true,
      content: expect.stringMatching(/unknown tool "no_such_tool"/),
    });
    expect(byId.toolu_hang).toMatchObject({ is_error: true, content: expect.stringMatching(/timed out after 200 ms/) });
    expect(byId.toolu_ok).toEqual({ type: 'tool_result', tool_use_id: 'toolu_ok', content: '5' });
    const calls = await db.query(
      `select tool_use_id, state, is_error, error_message from agentpg_tool_calls where run_id = $1`,
      [res.run.id],
    );
    const states = Object.fromEntries(calls.map((c) => [c.tool_use_id, c.state]));
    expect(states).toEqual({
      toolu_boom: 'failed',
      toolu_bad: 'failed',
      toolu_missing: 'failed',
      toolu_hang: 'failed',
      toolu_ok: 'succeeded',
    });
    assertValidTranscript(await transcript(db, res.run.id));
  });

  test('fails the run with max_tool_iterations_exceeded past maxToolIterations, leaving a valid transcript', async ({
    db,
    fake,
    client,
  }) => {
    const turn = (n: number) => ({ toolUses: [{ id: `toolu_loop${n}`, name: 'add', input: { a: n, b: n } }] });
    fake.enqueue(turn(1), turn(2), turn(3));
    const agent = client.agent('looper');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'loop' });
    const err = await agent.run(sessionId, 'loop forever').catch((e) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.run).toMatchObject({ state: 'failed', errorType: 'max_tool_iterations_exceeded', toolIterations: 2 });
    expect(err.run.errorMessage).toMatch(/maxToolIterations is 2/);
    const stored = await transcript(db, err.run.id);
    assertValidTranscript(stored);
    // The third tool_use was answered, not executed.
    const calls = await db.query(`select tool_use_id from agentpg_tool_calls where run_id = $1 order by tool_use_id`, [
      err.run.id,
    ]);
    expect(calls.map((c) => c.tool_use_id)).toEqual(['toolu_loop1', 'toolu_loop2']);
    // The session remains usable: the next run's transcript is valid for the API.
    fake.enqueue({ text: 'fine' });
    const next = await agent.run(sessionId, 'stop now');
    expect(next.text).toBe('fine');
    assertValidTranscript(fake.requests.at(-1)!.body.messages as any);
  });
});
