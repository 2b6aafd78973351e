import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';

const MODEL = 'claude-fake-model';
const EPHEMERAL = { type: 'ephemeral' as const };
const SYSTEM = 'You are a careful assistant. '.repeat(40);
const TOOLS: Anthropic.Tool[] = [
  { name: 'lookup', description: 'Looks a word up. '.repeat(10), input_schema: { type: 'object', properties: {} } },
  { name: 'search', description: 'Searches. '.repeat(10), input_schema: { type: 'object', properties: {} } },
];

let fake: FakeAnthropic;
let client: Anthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
  client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** A request marked the way agentpg marks it: last tool, system, the last block of the last message. */
function cached(messages: Anthropic.MessageParam[]): Anthropic.MessageCreateParamsNonStreaming {
  const marked = messages.map((m, i) =>
    i === messages.length - 1
      ? { ...m, content: [{ type: 'text' as const, text: m.content as string, cache_control: EPHEMERAL }] }
      : m,
  );
  return {
    model: MODEL,
    max_tokens: 100,
    tools: [TOOLS[0], { ...TOOLS[1], cache_control: EPHEMERAL }],
    system: [{ type: 'text', text: SYSTEM, cache_control: EPHEMERAL }],
    messages: marked,
  };
}

describe('fake prompt cache', () => {
  it('writes a prefix at its breakpoints, then bills the same prefix as cache reads', async () => {
    const turn1: Anthropic.MessageParam[] = [{ role: 'user', content: 'first question '.repeat(30) }];
    const req1 = cached(turn1);
    const first = await client.messages.create(req1);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(first.usage.cache_creation!.ephemeral_5m_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    // count_tokens counts the same request as if uncached: the three usage fields add up to it.
    const uncached = await client.messages.countTokens({
      model: MODEL,
      tools: req1.tools,
      system: req1.system,
      messages: req1.messages,
    });
    const sum = (u: Anthropic.Usage) =>
      u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
    expect(sum(first.usage)).toBe(uncached.input_tokens);

    // The next turn: everything up to the previous breakpoint is found by looking back from the new one.
    const turn2: Anthropic.MessageParam[] = [
      ...turn1,
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: 'and a follow-up' },
    ];
    const second = await client.messages.create(cached(turn2));
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_read_input_tokens!).toBeGreaterThan(sum(second.usage) * 0.8);
    expect(second.usage.cache_creation_input_tokens).toBeGreaterThan(0);
  });

  it('bills a changed prefix as a new write, and nothing as cached without breakpoints', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'hello' }];
    await client.messages.create(cached(messages));
    const other = cached(messages);
    other.system = [{ type: 'text', text: SYSTEM + ' Changed.', cache_control: EPHEMERAL }];
    const changed = await client.messages.create(other);
    // The tools are still the same prefix: only they are read.
    expect(changed.usage.cache_read_input_tokens).toBeGreaterThan(0);
    expect(changed.usage.cache_creation_input_tokens).toBeGreaterThan(changed.usage.cache_read_input_tokens!);

    const plain = await client.messages.create({ model: MODEL, max_tokens: 100, system: SYSTEM, messages });
    expect(plain.usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    fake.clearCache();
    const again = await client.messages.create(cached(messages));
    expect(again.usage.cache_read_input_tokens).toBe(0);
  });

  it('does not cache a prefix shorter than minCacheableTokens', async () => {
    const strict = await startFakeAnthropic({ minCacheableTokens: 100_000 });
    try {
      const c = new Anthropic({ apiKey: 'test', baseURL: strict.url, maxRetries: 0 });
      const m = await c.messages.create(cached([{ role: 'user', content: 'hi' }]));
      expect(m.usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    } finally {
      await strict.close();
    }
  });

  it('refuses more than 4 breakpoints like the real API', async () => {
    const req = cached([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    req.messages[0] = { role: 'user', content: [{ type: 'text', text: 'a', cache_control: EPHEMERAL }] };
    req.messages[1] = { role: 'assistant', content: [{ type: 'text', text: 'b', cache_control: EPHEMERAL }] };
    await expect(client.messages.create(req)).rejects.toThrow(/maximum of 4 blocks with cache_control/);
  });

  it('count_tokens ignores cache_control and answers with the same estimate', async () => {
    const req = cached([{ role: 'user', content: 'count me' }]);
    const marked = await client.messages.countTokens({
      model: MODEL,
      tools: req.tools,
      system: req.system,
      messages: req.messages,
    });
    const plain = await client.messages.countTokens({
      model: MODEL,
      tools: TOOLS,
      system: [{ type: 'text', text: SYSTEM }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'count me' }] }],
    });
    expect(marked.input_tokens).toBe(plain.input_tokens);
    expect(marked.input_tokens).toBeGreaterThan(SYSTEM.length / 4);
  });
});
