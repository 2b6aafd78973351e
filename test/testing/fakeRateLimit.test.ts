import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';

const params = (maxTokens = 100) => ({
  model: 'claude-fake-model',
  max_tokens: maxTokens,
  messages: [{ role: 'user' as const, content: 'hello' }],
});

let fake: FakeAnthropic;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeAnthropic({ rateLimit: { requestsPerWindow: 3, windowSeconds: 6 } });
  client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(() => fake.close());

describe('the fake API rate limit', () => {
  it('sends the anthropic-ratelimit headers (RFC 3339 reset) and a real 429 past the limit', async () => {
    const before = Date.now();
    const first = await client.messages.create(params()).withResponse();
    const h = first.response.headers;
    expect(h.get('anthropic-ratelimit-requests-limit')).toBe('3');
    expect(h.get('anthropic-ratelimit-requests-remaining')).toBe('2');
    const reset = h.get('anthropic-ratelimit-requests-reset')!;
    expect(reset).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    // One request of three used: full again after a third of the 6 s window.
    expect(Date.parse(reset) - before).toBeGreaterThan(1_500);
    expect(Date.parse(reset) - before).toBeLessThan(4_000); // a busy machine may be slow to send
    // No token limit configured: no token headers.
    expect(h.get('anthropic-ratelimit-input-tokens-limit')).toBeNull();

    await client.messages.create(params());
    await client.messages.create(params());
    const err = await client.messages.create(params()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((e.error as { error: { message: string } }).error.message).toMatch(/rate limit of 3 requests per minute/);
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(e.headers?.get('retry-after')))).toBe(true);
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(fake.stats.rateLimited).toBe(1);
  });

  it('limits output tokens by max_tokens at admission and gives the unused part back', async () => {
    fake.setRateLimit({ requestsPerWindow: 100, outputTokensPerWindow: 1_000, inputTokensPerWindow: 10_000 });
    fake.enqueue({ text: 'short', usage: { output_tokens: 10 } });
    const ok = await client.messages.create(params(600)).withResponse();
    // 600 reserved at admission (the headers are sent then), 590 given back once the reply was built.
    expect(ok.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('400');
    expect(ok.response.headers.get('anthropic-ratelimit-input-tokens-limit')).toBe('10000');
    // The most restrictive token limit in effect: output tokens, with the least remaining.
    expect(ok.response.headers.get('anthropic-ratelimit-tokens-limit')).toBe('1000');
    fake.enqueue({ text: 'long', usage: { output_tokens: 400 } });
    const next = await client.messages.create(params(400)).withResponse();
    // 990 before it (400 + 590 given back, plus a token or two of refill), 400 taken.
    const remaining = Number(next.response.headers.get('anthropic-ratelimit-output-tokens-remaining'));
    expect(remaining).toBeGreaterThanOrEqual(590);
    expect(remaining).toBeLessThan(600);
    const refused = await client.messages.create(params(700)).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(429);
    expect(String((refused as Error).message)).toMatch(/output tokens per minute/);
  });
});
