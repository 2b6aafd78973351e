import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';

let fake: FakeAnthropic;
let sdk: Anthropic;
const params = (text: string) => ({
  model: 'claude-fake-model',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
});

beforeAll(async () => {
  fake = await startFakeAnthropic({ batchProcessingDelayMs: 300 });
  sdk = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(async () => {
  await fake?.close();
});

describe('the fake Message Batches API, through the real SDK', () => {
  it('creates, polls until ended, and serves JSONL results by custom_id', async () => {
    fake.setResponder((req) =>
      req.batch?.customId === 'bad_one' ? { error: { status: 529 } } : { text: `hi ${req.batch?.customId}` },
    );
    const batch = await sdk.messages.batches.create({
      requests: [
        { custom_id: 'good_one', params: params('a') },
        { custom_id: 'bad_one', params: params('b') },
        { custom_id: 'invalid-params', params: { ...params('c'), max_tokens: 0 } },
      ],
    });
    expect(batch).toMatchObject({ type: 'message_batch', processing_status: 'in_progress', results_url: null });
    expect(batch.request_counts.processing).toBe(3);
    await expect(sdk.messages.batches.results(batch.id)).rejects.toThrow(/results_url/);
    await new Promise((r) => setTimeout(r, 350));
    const ended = await sdk.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 1, errored: 2, canceled: 0, expired: 0 });
    const byId = new Map<string, Anthropic.Messages.MessageBatchResult>();
    for await (const line of await sdk.messages.batches.results(batch.id)) byId.set(line.custom_id, line.result);
    const good = byId.get('good_one');
    expect(good?.type === 'succeeded' && good.message.content[0]).toMatchObject({ type: 'text', text: 'hi good_one' });
    expect(good?.type === 'succeeded' && good.message.usage.service_tier).toBe('batch');
    expect(byId.get('bad_one')).toMatchObject({
      type: 'errored',
      error: { type: 'error', error: { type: 'overloaded_error' } },
    });
    expect(byId.get('invalid-params')).toMatchObject({ error: { error: { type: 'invalid_request_error' } } });
    expect(fake.stats.received).toBe(0);
  });

  it('refuses a batch with a bad or duplicate custom_id, or none at all, creating nothing', async () => {
    const before = fake.batches.batches.length;
    for (const requests of [
      [{ custom_id: 'has space', params: params('a') }],
      [{ custom_id: 'x'.repeat(65), params: params('a') }],
      [
        { custom_id: 'dup', params: params('a') },
        { custom_id: 'dup', params: params('b') },
      ],
      [],
    ]) {
      const err = await sdk.messages.batches.create({ requests }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('invalid_request_error');
    }
    expect(fake.batches.batches.length).toBe(before);
    await expect(sdk.messages.batches.retrieve('msgbatch_nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('lists newest first, paging with after_id, and cancels', async () => {
    for (let i = 0; i < 3; i++)
      await sdk.messages.batches.create({ requests: [{ custom_id: `p${i}`, params: params('x') }] });
    const all = fake.batches.batches.map((b) => b.id).reverse();
    const seen: string[] = [];
    for await (const b of sdk.messages.batches.list({ limit: 2 })) seen.push(b.id);
    expect(seen).toEqual(all);
    const c = await sdk.messages.batches.cancel(all[0]);
    expect(c.cancel_initiated_at).not.toBeNull();
    expect((await sdk.messages.batches.retrieve(all[0])).request_counts.canceled).toBe(1);
    expect(fake.batches.stats.cancel).toBe(1);
  });
});
