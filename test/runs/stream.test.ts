import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG, type RunEvent } from '../../src/index.js';
import { type FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { withoutReplayed } from '../../src/runs/streamReplay.js';
import { MODEL } from './helpers.js';
import { untilValue } from '../helpers/until.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let a: AgentPG;
let b: AgentPG;
let listener: pg.Client;
const rawPayloads: string[] = [];

const note = defineTool({
  name: 'note',
  description: 'Records a note.',
  inputSchema: z.object({ text: z.string() }),
  execute: ({ text }) => `noted: ${text}`,
});

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  const agents = [defineAgent({ name: 'chat', model: MODEL, tools: ['note'] })];
  a = await startClient({ agents, tools: [note] });
  b = await startClient({ agents, tools: [note] });
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (m) => rawPayloads.push(m.payload ?? ''));
  await listener.query('listen agentpg_run_stream');
});
afterAll(async () => {
  await listener?.end();
});

async function collect(client: AgentPG, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const ev of client.runs.stream(runId)) events.push(ev);
  return events;
}

const texts = (events: RunEvent[]) =>
  events
    .filter((e): e is Extract<RunEvent, { type: 'text_delta' }> => e.type === 'text_delta')
    .map((e) => e.text)
    .join('');

describe('runs.stream()', () => {
  it('delivers text deltas (buffered), tool events, states and the end to callers on every instance', async () => {
    fake.reset();
    const finalText = 'The note is taken. '.repeat(12);
    fake.enqueue(
      {
        text: 'Taking a note.',
        toolUses: [{ id: 'toolu_note1', name: 'note', input: { text: 'milk' } }],
        latencyMs: 400,
      },
      { text: finalText, chunkDelayMs: 10 },
    );
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'stream' });
    const runId = await a.agent('chat').enqueue(sessionId, 'remember milk');
    // One subscriber per instance: whichever executes the run, the other receives it by NOTIFY.
    const [onA, onB] = await Promise.all([collect(a, runId), collect(b, runId)]);
    const run = (await a.runs.get(runId))!;
    expect(run.state).toBe('completed');

    for (const events of [onA, onB]) {
      expect(events[0]).toMatchObject({ type: 'state' });
      const last = events.at(-1)!;
      expect(last.type).toBe('end');
      expect((last as Extract<RunEvent, { type: 'end' }>).run).toMatchObject({
        id: runId,
        state: 'completed',
        responseText: finalText,
      });
      expect(texts(events)).toBe('Taking a note.' + finalText);
      const toolCall = events.find((e) => e.type === 'tool_call');
      expect(toolCall).toEqual({ type: 'tool_call', toolUseId: 'toolu_note1', name: 'note', input: { text: 'milk' } });
      const toolResult = events.find((e) => e.type === 'tool_result');
      expect(toolResult).toEqual({
        type: 'tool_result',
        toolUseId: 'toolu_note1',
        name: 'note',
        isError: false,
        output: 'noted: milk',
      });
      expect(events.indexOf(toolCall!)).toBeLessThan(events.indexOf(toolResult!));
      expect(events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state)).toContain(
        'completed',
      );
      // Buffered: the final text came as ~20 SSE frames 10 ms apart, but fewer, larger deltas
      // (a flush every ~50 ms), and more than one (it streamed while the call was running).
      const finalDeltas = events.slice(events.indexOf(toolResult!)).filter((e) => e.type === 'text_delta');
      expect(finalDeltas.length).toBeGreaterThan(1);
      expect(finalDeltas.length).toBeLessThan(Math.ceil(finalText.length / 12));
    }
    // Both subscribers saw the same events in the same order; states only move forward (a
    // subscriber may start at `running` if the run began before it subscribed).
    const notState = (events: RunEvent[]) => events.filter((e) => e.type !== 'state');
    expect(notState(onB)).toEqual(notState(onA));
    const rank = { queued: 0, running: 1, awaiting_input: 1, completed: 2, failed: 2, cancelled: 2 } as const;
    for (const events of [onA, onB]) {
      const states = events
        .filter((e): e is Extract<RunEvent, { type: 'state' }> => e.type === 'state')
        .map((e) => rank[e.state]);
      expect(states).toEqual([...states].sort());
      expect(new Set(states).size).toBe(states.length);
    }
  });

  it('splits large deltas into NOTIFY payloads under 8000 bytes, text intact', async () => {
    fake.reset();
    rawPayloads.length = 0;
    const big = Array.from({ length: 1500 }, (_, i) => `line ${i}: "quoted" \\ émoji 🎉 ${'x'.repeat(i % 7)}\n`).join(
      '',
    );
    expect(Buffer.byteLength(big)).toBeGreaterThan(40_000);
    fake.enqueue({ text: big, latencyMs: 300 });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'big' });
    const runId = await a.agent('chat').enqueue(sessionId, 'say a lot');
    const events = await collect(b, runId);
    expect(texts(events)).toBe(big);
    // The raw listener is another connection: its copies may land a moment after the client's.
    const mine = await untilValue(
      async () => rawPayloads.filter((p) => JSON.parse(p).r === runId),
      (m) => m.map((p) => JSON.parse(p).e.text ?? '').join('') === big,
    );
    expect(mine.length).toBeGreaterThan(5);
    for (const p of mine) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    // Payloads carry ids, sequence numbers and events only.
    expect(Object.keys(JSON.parse(mine[0])).sort()).toEqual(['e', 'n', 'r']);
  });

  it('ends at once for a run that has already finished', async () => {
    fake.reset();
    fake.enqueue({ text: 'quick' });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'done' });
    const { run } = await a.agent('chat').run(sessionId, 'hi');
    const events = await collect(b, run.id);
    expect(events.map((e) => e.type)).toEqual(['state', 'end']);
  });

  it('replays the stored turns to a subscriber that comes mid-run, then goes on live, nothing twice', async () => {
    fake.reset();
    const finalText = 'Noted, milk it is. '.repeat(6);
    fake.enqueue(
      { text: 'Taking a note.', toolUses: [{ id: 'toolu_replay1', name: 'note', input: { text: 'milk' } }] },
      { text: finalText, latencyMs: 1500, chunkDelayMs: 10 },
    );
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'replay' });
    const runId = await a.agent('chat').enqueue(sessionId, 'remember milk');
    // Subscribe once the first turn and its tool result are stored, while the second call waits.
    await untilValue(
      () => db.query(`select state from agentpg_tool_calls where run_id = $1`, [runId]),
      (rows) => rows[0]?.state === 'succeeded',
    );
    const events: RunEvent[] = [];
    for await (const ev of b.runs.stream(runId, { replay: true })) events.push(ev);
    expect(events[0]).toEqual({ type: 'state', state: 'running' });
    expect(events[1]).toEqual({ type: 'text_delta', text: 'Taking a note.' });
    expect(events[2]).toEqual({ type: 'tool_call', toolUseId: 'toolu_replay1', name: 'note', input: { text: 'milk' } });
    expect(events[3]).toEqual({
      type: 'tool_result',
      toolUseId: 'toolu_replay1',
      name: 'note',
      isError: false,
      output: 'noted: milk',
    });
    expect(texts(events)).toBe('Taking a note.' + finalText);
    expect(events.filter((e) => e.type === 'tool_call' || e.type === 'tool_result')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'end', run: { state: 'completed' } });
    // Without replay the same subscription starts at the live edge.
    const late: RunEvent[] = [];
    for await (const ev of b.runs.stream(runId)) late.push(ev);
    expect(late.map((e) => e.type)).toEqual(['state', 'end']);
  });

  it('replays the whole of a finished run between its state and its end', async () => {
    fake.reset();
    fake.enqueue(
      { text: 'Let me note.', toolUses: [{ id: 'toolu_replay2', name: 'note', input: { text: 'eggs' } }] },
      { text: 'Done.' },
    );
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'replay-done' });
    const { run } = await a.agent('chat').run(sessionId, 'remember eggs');
    const events: RunEvent[] = [];
    for await (const ev of a.runs.stream(run.id, { replay: true })) events.push(ev);
    expect(events.map((e) => e.type)).toEqual(['state', 'text_delta', 'tool_call', 'tool_result', 'text_delta', 'end']);
    expect(texts(events)).toBe('Let me note.Done.');
  });
});

describe('withoutReplayed', () => {
  it('drops live tool events the replay has and the text before the last of them, keeps the turn in progress', () => {
    const replay = { events: [], toolCalls: new Set(['x']), toolResults: new Set(['x']) };
    const live: RunEvent[] = [
      { type: 'text_delta', text: 'stored turn, tail' },
      { type: 'tool_call', toolUseId: 'x', name: 'note', input: {} },
      { type: 'tool_result', toolUseId: 'x', name: 'note', isError: false, output: 'ok' },
      { type: 'text_delta', text: 'turn in progress' },
      { type: 'tool_call', toolUseId: 'y', name: 'note', input: {} },
    ];
    expect(withoutReplayed(live, replay)).toEqual([live[3], live[4]]);
    expect(withoutReplayed(live, { events: [], toolCalls: new Set(), toolResults: new Set() })).toEqual(live);
  });
});
