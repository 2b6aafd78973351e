import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastUserText, startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';

const MODEL = 'claude-fake-model';
const API_KEY = 'sk-ant-test-SECRET-123';
const root = fileURLToPath(new URL('../../', import.meta.url));

let fake: FakeAnthropic;
let client: Anthropic;
const params = (text = 'hello', extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) => ({
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});
// `parsed_output` is added by the SDK's stream helper (structured outputs), not sent by the server.
const withoutIds = (m: Anthropic.Message) => ({ ...JSON.parse(JSON.stringify(m)), id: 'x', parsed_output: undefined });

beforeAll(async () => {
  fake = await startFakeAnthropic();
  client = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('non-streaming replies', () => {
  it('returns a scripted text reply shaped like the real API', async () => {
    fake.enqueue({ text: 'hi there' });
    const msg = await client.messages.create(params());
    expect(msg).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'hi there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(msg.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(fake.queued).toBe(0);
  });

  it('replies "ok" when nothing is scripted, and consumes the script in FIFO order', async () => {
    fake.enqueue({ text: 'one' }, { text: 'two' });
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await client.messages.create(params());
      texts.push((m.content[0] as Anthropic.TextBlock).text);
    }
    expect(texts).toEqual(['one', 'two', 'ok']);
  });

  it('returns several tool_use blocks in one turn with a text preface', async () => {
    fake.enqueue({
      text: 'Let me look.',
      toolUses: [
        { name: 'search', input: { q: 'postgres' } },
        { id: 'toolu_fixed', name: 'fetch', input: { url: 'https://x', n: [1, 2] } },
      ],
    });
    const msg = await client.messages.create(params());
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content).toHaveLength(3);
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Let me look.' });
    expect(msg.content[1]).toMatchObject({ type: 'tool_use', name: 'search', input: { q: 'postgres' } });
    expect((msg.content[1] as Anthropic.ToolUseBlock).id).toMatch(/^toolu_01[0-9A-Za-z]{22}$/);
    expect(msg.content[2]).toMatchObject({
      type: 'tool_use',
      id: 'toolu_fixed',
      input: { url: 'https://x', n: [1, 2] },
    });
  });

  it('computes usage deterministically unless scripted', async () => {
    const p = params('a'.repeat(100));
    const a = await client.messages.create(p);
    const b = await client.messages.create(p);
    expect(a.usage).toEqual(b.usage);
    expect(a.usage.input_tokens).toBe(Math.ceil(JSON.stringify(p.messages).length / 4));
    expect(a.usage.output_tokens).toBe(1); // 'ok'
    expect(a.usage.cache_read_input_tokens).toBe(0);

    fake.enqueue({
      text: 'x',
      usage: { input_tokens: 1000, output_tokens: 42, cache_creation_input_tokens: 7, cache_read_input_tokens: 900 },
    });
    const c = await client.messages.create(p);
    expect(c.usage).toMatchObject({
      input_tokens: 1000,
      output_tokens: 42,
      cache_creation_input_tokens: 7,
      cache_read_input_tokens: 900,
    });
  });

  it('scripts max_tokens and stop_sequence stop reasons', async () => {
    fake.enqueue({ text: 'truncat', stopReason: 'max_tokens' }, { text: 'a', stopReason: 'stop_sequence' });
    expect((await client.messages.create(params())).stop_reason).toBe('max_tokens');
    const m = await client.messages.create(params('x', { stop_sequences: ['END'] }));
    expect([m.stop_reason, m.stop_sequence]).toEqual(['stop_sequence', 'END']);
  });

  it('computes replies from the request with a responder (concurrent-safe)', async () => {
    fake.setResponder((req) => {
      const marker = /\[run:(\w+)\]/.exec(lastUserText(req.body))?.[1];
      return marker ? { text: `reply for ${marker}` } : undefined;
    });
    const runs = ['a', 'b', 'c', 'd', 'e'];
    const replies = await Promise.all(runs.map((r) => client.messages.create(params(`do it [run:${r}]`))));
    expect(replies.map((m) => (m.content[0] as Anthropic.TextBlock).text)).toEqual(runs.map((r) => `reply for ${r}`));
    // The script still wins over the responder; no marker falls through to the default.
    fake.enqueue({ text: 'scripted' });
    expect((await client.messages.create(params('[run:z]'))).content[0]).toMatchObject({ text: 'scripted' });
    expect((await client.messages.create(params('plain'))).content[0]).toMatchObject({ text: 'ok' });
  });

  it('records requests with the API key redacted', async () => {
    await client.messages.create(params('remember me'));
    const bearer = new Anthropic({ authToken: 'bearer-SECRET-456', baseURL: fake.url, maxRetries: 0 });
    await bearer.messages.create(params());
    // A raw client sending the classic x-api-key header.
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'raw-SECRET-789', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(params()),
    });
    expect(res.status).toBe(200);
    expect(fake.requests).toHaveLength(3);
    const [r1, r2, r3] = fake.requests;
    expect(r1.body.messages).toEqual([{ role: 'user', content: 'remember me' }]);
    // This SDK version sends the API key as `authorization`; older ones as `x-api-key`.
    expect(r1.headers['x-api-key'] ?? r1.headers['authorization']).toBe('[REDACTED]');
    expect(r2.headers['authorization']).toBe('[REDACTED]');
    expect(r3.headers['x-api-key']).toBe('[REDACTED]');
    expect(r1).toMatchObject({ seq: 1, stream: false, aborted: false, status: 200, reply: 'text' });
    expect(r1.receivedAt).toBeInstanceOf(Date);
    expect(r1.headers['content-type']).toBe('application/json');
    expect(JSON.stringify(fake.requests)).not.toContain('SECRET');
  });

  it('handles count_tokens and answers unknown paths with a 404 error envelope', async () => {
    const counted = await client.messages.countTokens({ model: MODEL, messages: params().messages });
    expect(counted.input_tokens).toBe(Math.ceil(JSON.stringify(params().messages).length / 4));
    const res = await fetch(`${fake.url}/v1/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    await expect(client.messages.create({ model: MODEL, messages: [] } as never)).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
  });
});

describe('streaming', () => {
  it('streams text in several deltas and finalMessage equals the non-streaming message', async () => {
    const text = 'The quick brown fox jumps over the lazy dog, twice. ✨ Unicode: 😀 done.';
    fake.enqueue({ text }, { text });
    const deltas: string[] = [];
    const stream = client.messages.stream(params()).on('text', (d) => deltas.push(d));
    const streamed = await stream.finalMessage();
    const plain = await client.messages.create(params());
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(text);
    expect(withoutIds(streamed)).toEqual(withoutIds(plain));
    expect(fake.requests[0].stream).toBe(true);
  });

  it('emits the real event sequence', async () => {
    fake.enqueue({ text: 'hello streaming world!', toolUses: [{ name: 't', input: { a: 1 } }] });
    const events: string[] = [];
    for await (const ev of await client.messages.create({ ...params(), stream: true })) events.push(ev.type);
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(events.filter((e) => e === 'content_block_start')).toHaveLength(2);
    expect(events.filter((e) => e === 'content_block_stop')).toHaveLength(2);
    expect(events.filter((e) => e === 'content_block_delta').length).toBeGreaterThan(2);
  });

  it('reconstructs streamed tool_use input', async () => {
    const input = {
      query: 'select * from runs where status = $1',
      params: ['running'],
      nested: { deep: [1, { x: 'y' }] },
    };
    fake.enqueue({
      toolUses: [
        { name: 'sql', input },
        { name: 'noop', input: {} },
      ],
    });
    const final = await client.messages.stream(params()).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toHaveLength(2);
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'sql', input });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', name: 'noop', input: {} });
    expect(final.usage.output_tokens).toBeGreaterThan(1);
  });
});

describe('failures', () => {
  const cases = [
    { status: 429, cls: Anthropic.RateLimitError, type: 'rate_limit_error' },
    { status: 529, cls: Anthropic.OverloadedError, type: 'overloaded_error' },
    { status: 500, cls: Anthropic.InternalServerError, type: 'api_error' },
    { status: 400, cls: Anthropic.BadRequestError, type: 'invalid_request_error' },
    { status: 401, cls: Anthropic.AuthenticationError, type: 'authentication_error' },
  ];
  for (const { status, cls, type } of cases) {
    it(`${status} maps to ${cls.name} with the real error envelope`, async () => {
      fake.enqueue({ error: { status } });
      const err = await client.messages.create(params()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      const apiErr = err as InstanceType<typeof Anthropic.APIError>;
      expect(apiErr.status).toBe(status);
      expect(apiErr.type).toBe(type);
      expect(apiErr.requestID).toMatch(/^req_01/);
      expect(apiErr.error).toEqual({
        type: 'error',
        error: { type, message: expect.any(String) },
        request_id: apiErr.requestID,
      });
      if (status === 429) expect(apiErr.headers?.get('retry-after')).toBe('1');
      expect(fake.requests[0].status).toBe(status);
    });
  }

  it('529 is an InternalServerError too, and custom retry-after is sent', async () => {
    fake.enqueue({ error: { status: 529, retryAfterSeconds: 3, message: 'busy' } });
    const err = (await client.messages.create(params()).catch((e: unknown) => e)) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(err.headers?.get('retry-after')).toBe('3');
    expect(err.apiMessage).toBe('busy');
  });

  it("honours retry-after through the SDK's own retry", async () => {
    fake.enqueue({ error: { status: 429, retryAfterSeconds: 1 } }, { text: 'after retry' });
    const retrying = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 1 });
    const t0 = Date.now();
    const msg = await retrying.messages.create(params());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(msg.content[0]).toMatchObject({ text: 'after retry' });
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('a dropped connection gives APIConnectionError (and the SDK retry recovers)', async () => {
    fake.enqueue({ drop: true });
    const err = await client.messages.create(params()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(fake.stats.dropped).toBe(1);
    expect(fake.requests[0]).toMatchObject({ reply: 'drop', aborted: false });
    expect(fake.requests[0].status).toBeUndefined();

    fake.enqueue({ drop: true }, { text: 'recovered' });
    const retrying = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 1 });
    expect((await retrying.messages.create(params())).content[0]).toMatchObject({ text: 'recovered' });
  });
});

describe('latency and aborts', () => {
  it('applies per-reply latency', async () => {
    fake.enqueue({ text: 'slow', latencyMs: 300 });
    const t0 = Date.now();
    await client.messages.create(params());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(fake.requests[0].aborted).toBe(false);
  });

  it('applies the server-wide default latency', async () => {
    const slow = await startFakeAnthropic({ latencyMs: 200, defaultReply: { text: 'default' } });
    try {
      const c = new Anthropic({ apiKey: API_KEY, baseURL: slow.url, maxRetries: 0 });
      const t0 = Date.now();
      const m = await c.messages.create(params());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(m.content[0]).toMatchObject({ text: 'default' });
    } finally {
      await slow.close();
    }
  });

  it('records an in-flight request aborted by the client as aborted', async () => {
    fake.enqueue({ text: 'never', latencyMs: 10_000 });
    const ac = new AbortController();
    const pending = client.messages.create(params(), { signal: ac.signal }).catch((e: unknown) => e);
    await fake.waitForRequests(1);
    const t0 = Date.now();
    ac.abort();
    expect(await pending).toBeInstanceOf(Anthropic.APIUserAbortError);
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 5_000, interval: 10 });
    expect(Date.now() - t0).toBeLessThan(5_000); // long before the 10 s reply: the abort was seen
    expect(fake.stats).toMatchObject({ received: 1, aborted: 1, completed: 0 });
  });

  it('records a stream aborted mid-way as aborted', async () => {
    fake.enqueue({ text: 'a long answer that streams slowly, chunk by chunk, forever', chunkDelayMs: 100 });
    const stream = client.messages.stream(params());
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    stream.abort();
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    await vi.waitFor(() => expect(fake.requests[0].aborted).toBe(true), { timeout: 5_000, interval: 10 });
  });

  it('caps or disables recording', async () => {
    const capped = await startFakeAnthropic({ record: 2 });
    const off = await startFakeAnthropic({ record: false });
    try {
      for (const f of [capped, off]) {
        const c = new Anthropic({ apiKey: API_KEY, baseURL: f.url, maxRetries: 0 });
        for (let i = 0; i < 3; i++) await c.messages.create(params(`m${i}`));
      }
      expect(capped.requests.map((r) => r.seq)).toEqual([2, 3]);
      expect(off.requests).toEqual([]);
      expect(off.stats.completed).toBe(3);
    } finally {
      await Promise.all([capped.close(), off.close()]);
    }
  });
});

describe('standalone process', () => {
  it('starts on PORT, prints its url, serves, and exits on SIGTERM', async () => {
    const child = spawn(`${root}node_modules/.bin/tsx`, ['src/testing/fakeAnthropicMain.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', FAKE_LATENCY_MS: '50' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const { url } = JSON.parse(line) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const c = new Anthropic({ apiKey: API_KEY, baseURL: url, maxRetries: 0 });
      const t0 = Date.now();
      const msg = await c.messages.create(params());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
      expect(msg.content[0]).toMatchObject({ type: 'text', text: 'ok' });
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 15_000);
});
