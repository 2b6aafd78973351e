/**
 * Retention beside real executions: with an age of 1 ms, a pass retires the session whose run
 * completed, and leaves alone the sessions with a run in flight (its tool running), the one whose
 * earlier run finished included; those runs then finish normally, and the next pass retires them.
 */
import { z } from 'zod';
import { expect } from 'vitest';
import { defineAgent, defineTool } from '../../src/index.js';
import type { FakeRequest } from '../../src/testing/index.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';
import { MODEL } from '../runs/helpers.js';
import { rowsOf } from './seed.js';

let release: () => void = () => {};
const released = new Promise<void>((resolve) => (release = resolve));
let started = 0;
const block = defineTool({
  name: 'block',
  description: 'Waits until the test lets it go.',
  inputSchema: z.object({}),
  async execute() {
    started++;
    await released;
    return 'let go';
  },
});

function responder(req: FakeRequest) {
  const last = req.body.messages.at(-1)!;
  const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as any[]);
  if (blocks.some((b) => b.type === 'tool_result')) return { text: 'done' };
  const text = blocks.find((b) => b.type === 'text')?.text ?? '';
  return text === 'block' ? { toolUses: [{ name: 'block', input: {} }] } : { text: `plain: ${text}` };
}

test('a pass never touches a session with a run in flight', async ({ db, fake, startClient }) => {
  fake.setResponder(responder);
  const client = await startClient({
    agents: [defineAgent({ name: 'keeper', model: MODEL, tools: ['block'] })],
    tools: [block],
  });
  const agent = client.agent('keeper');
  const session = (name: string) => agent.newSession({ tenantId: 't', identifier: name });
  const done = await session('done');
  const inFlight = await session('in-flight');
  const finishedThenInFlight = await session('finished-then-in-flight');
  await client.runs.wait(await agent.enqueue(done, 'hello'));
  await client.runs.wait(await agent.enqueue(finishedThenInFlight, 'hello'));
  const blocked = [await agent.enqueue(inFlight, 'block'), await agent.enqueue(finishedThenInFlight, 'block')];
  await until(() => started === 2);
  const kept = await rowsOf(db.pool, [inFlight, finishedThenInFlight]);
  expect(kept).toMatchObject({ sessions: 2, runs: 3 });
  await new Promise((r) => setTimeout(r, 20)); // older than the 1 ms age

  const first = await client.runRetentionPass({ finishedRunsMaxAgeMs: 1 });
  expect(first).toMatchObject({ error: null, sessions: 1, runs: 1 });
  expect(await rowsOf(db.pool, [done])).toMatchObject({ sessions: 0, runs: 0, messages: 0 });
  expect(await rowsOf(db.pool, [inFlight, finishedThenInFlight])).toEqual(kept);

  release();
  for (const id of blocked) expect((await client.runs.wait(id)).state).toBe('completed');
  await new Promise((r) => setTimeout(r, 20));
  const second = await client.runRetentionPass({ finishedRunsMaxAgeMs: 1 });
  expect(second).toMatchObject({ error: null, sessions: 2, runs: 3 });
  expect(await rowsOf(db.pool, [inFlight, finishedThenInFlight])).toMatchObject({ sessions: 0, runs: 0, messages: 0 });
});
