import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL, startClient } from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;

const EPHEMERAL = { type: 'ephemeral' };
const SYSTEM = 'You are a meticulous research assistant who cites every source. '.repeat(60);
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a term up in the encyclopedia.',
  inputSchema: z.object({ term: z.string() }),
  execute: ({ term }) => `${term}: a word`,
});
const note = defineTool({
  name: 'note',
  description: 'Writes a note.',
  inputSchema: z.object({ text: z.string() }),
  execute: () => 'noted',
});

test.beforeAll(async ({ db: testDb, fake: testFake, startClient: start }) => {
  db = testDb;
  fake = testFake;
  client = await start({
    tools: [lookup, note],
    agents: [
      defineAgent({ name: 'cached', model: MODEL, systemPrompt: SYSTEM, tools: ['lookup', 'note'] }),
      defineAgent({ name: 'uncached', model: MODEL, systemPrompt: SYSTEM, tools: ['lookup'], cache: false }),
      defineAgent({ name: 'no_conversation', model: MODEL, systemPrompt: SYSTEM, cache: { conversation: false } }),
    ],
  });
});

const cacheMarks = (value: unknown): number => JSON.stringify(value).split('"cache_control"').length - 1;

describe('prompt caching', () => {
  it('bills the second turn of a session mostly as cache reads, per call and summed per run', async () => {
    const agent = client.agent('cached');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'two-turns' });
    fake.enqueue({ text: 'The first answer, with some detail. '.repeat(5) });
    const first = await agent.run(sessionId, 'What is a word?');
    expect(first.run.cacheReadInputTokens).toBe(0);
    expect(first.run.cacheCreationInputTokens).toBeGreaterThan(0);

    // Turn 2 uses a tool: two model calls, each reading the prefix the call before it wrote.
    fake.enqueue({ toolUses: [{ id: 'toolu_1', name: 'lookup', input: { term: 'cache' } }] }, { text: 'Done.' });
    const second = await agent.run(sessionId, 'And what is a cache?');

    // The breakpoints of the last request: last tool, system prompt, the last block of the last
    // message (the tool results) and of the user turn before it (the prompt).
    const body = fake.requests.at(-1)!.body as any;
    expect(body.tools.map((t: any) => t.cache_control)).toEqual([undefined, EPHEMERAL]);
    expect(body.system).toEqual([{ type: 'text', text: SYSTEM, cache_control: EPHEMERAL }]);
    const messages = body.messages as any[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[4].content.at(-1)).toMatchObject({ type: 'tool_result', cache_control: EPHEMERAL });
    expect(messages[2].content.at(-1)).toEqual({
      type: 'text',
      text: 'And what is a cache?',
      cache_control: EPHEMERAL,
    });
    expect(cacheMarks(messages)).toBe(2);
    expect(cacheMarks(body)).toBe(4);

    // The usage the fake reported, as stored per model call.
    const calls = await db.query(
      `select input_tokens, cache_creation_input_tokens as creation, cache_read_input_tokens as read
         from agentpg_messages where run_id = $1 and role = 'assistant' order by seq`,
      [second.run.id],
    );
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      const total = c.input_tokens + c.creation + c.read;
      expect(c.read / total).toBeGreaterThan(0.8);
    }
    // ... and summed on the run.
    const [run] = await db.query(
      `select cache_read_input_tokens as read, cache_creation_input_tokens as creation from agentpg_runs where id = $1`,
      [second.run.id],
    );
    expect(run.read).toBe(calls[0].read + calls[1].read);
    expect(run.creation).toBe(calls[0].creation + calls[1].creation);
    expect(second.run.cacheReadInputTokens).toBe(run.read);
  });

  it('sends no breakpoint for an agent with caching off, and only the chosen ones otherwise', async () => {
    const plain = client.agent('uncached');
    const sessionId = await plain.newSession({ tenantId: 't', identifier: 'off' });
    await plain.run(sessionId, 'one');
    const res = await plain.run(sessionId, 'two');
    expect(cacheMarks(fake.requests.at(-1)!.body)).toBe(0);
    expect(fake.requests.at(-1)!.body.system).toBe(SYSTEM);
    expect(res.run).toMatchObject({ cacheReadInputTokens: 0, cacheCreationInputTokens: 0 });

    const partial = client.agent('no_conversation');
    const s2 = await partial.newSession({ tenantId: 't', identifier: 'partial' });
    await partial.run(s2, 'one');
    const body = fake.requests.at(-1)!.body;
    expect(cacheMarks(body.messages)).toBe(0);
    expect(cacheMarks(body.system)).toBe(1);
  });

  it('refuses a malformed cache setting when the client is built', async () => {
    await expect(
      startClient(db, fake, {
        agents: [defineAgent({ name: 'typo', model: MODEL, cache: { system: true, tool: true } as never })],
      }),
    ).rejects.toThrow(/unknown cache setting "tool"/);
  });
});
