import { describe, expect } from 'vitest';
import { defineAgent, NotFoundError } from '../../src/index.js';
import { stripCacheControl } from '../../src/testing/index.js';
import { test as base } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';

const test = base.extend('client', { scope: 'file' }, async ({ startClient }) =>
  startClient({
    agents: [defineAgent({ name: 'chat', model: MODEL, systemPrompt: 'You are terse.', maxTokens: 256 })],
  }),
);

describe('a single-turn run', () => {
  test('returns the text and stores run, messages and tokens visible with plain SQL', async ({ db, fake, client }) => {
    fake.enqueue({ text: 'Hello there!', usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 3 } });
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't1', identifier: 'user123', metadata: { plan: 'pro' } });
    const res = await agent.run(sessionId, 'Hello!');

    expect(res.text).toBe('Hello there!');
    expect(res.run).toMatchObject({
      sessionId,
      state: 'completed',
      agentName: 'chat',
      tenantId: 't1',
      inputTokens: 12,
      outputTokens: 5,
      cacheReadInputTokens: 3,
      toolIterations: 0,
      stopReason: 'end_turn',
      errorType: null,
      instanceId: client.instanceId,
      attempts: 1,
    });
    expect(res.run.startedAt).toBeInstanceOf(Date);
    expect(res.run.finalizedAt).toBeInstanceOf(Date);

    // The request the model saw: system prompt, max tokens, the prompt as a user message, with the
    // default cache breakpoints on the system prompt and the conversation.
    const req = fake.requests.at(-1)!;
    expect(req.stream).toBe(true);
    expect(req.body).toMatchObject({
      model: MODEL,
      max_tokens: 256,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    });
    expect(req.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Hello!', cache_control: { type: 'ephemeral' } }] },
    ]);

    const [run] = await db.query(
      `select state, response_text, input_tokens, output_tokens, cache_read_input_tokens, stop_reason, finalized_at
         from agentpg_runs where id = $1`,
      [res.run.id],
    );
    expect(run).toMatchObject({
      state: 'completed',
      response_text: 'Hello there!',
      input_tokens: 12,
      output_tokens: 5,
      cache_read_input_tokens: 3,
      stop_reason: 'end_turn',
    });
    const messages = await db.query(
      `select role, content, input_tokens, output_tokens, stop_reason from agentpg_messages where run_id = $1 order by seq`,
      [res.run.id],
    );
    expect(messages).toEqual([
      {
        role: 'user',
        content: [{ type: 'text', text: 'Hello!' }],
        input_tokens: 0,
        output_tokens: 0,
        stop_reason: null,
      },
      {
        role: 'assistant',
        content: [expect.objectContaining({ type: 'text', text: 'Hello there!' })],
        input_tokens: 12,
        output_tokens: 5,
        stop_reason: 'end_turn',
      },
    ]);
    const [session] = await db.query(
      `select tenant_id, identifier, agent_name, metadata from agentpg_sessions where id = $1`,
      [sessionId],
    );
    expect(session).toEqual({ tenant_id: 't1', identifier: 'user123', agent_name: 'chat', metadata: { plan: 'pro' } });
    // The pg-boss job went with the run's final transaction (deleted: agentpg_runs is the record).
    expect(res.run.jobId).toBeTruthy();
    expect(await db.query(`select state from agentpg_boss.job where id = $1`, [res.run.jobId])).toEqual([]);
  });

  test('sends the earlier turns of the session on the next run', async ({ fake, client }) => {
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't1', identifier: 'memory' });
    fake.enqueue({ text: 'first answer' }, { text: 'second answer' });
    await agent.run(sessionId, 'first');
    const res = await agent.run(sessionId, 'second');
    expect(res.text).toBe('second answer');
    expect(stripCacheControl(fake.requests.at(-1)!.body).messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'first' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'first answer' }] },
      { role: 'user', content: [{ type: 'text', text: 'second' }] },
    ]);
  });

  test('records a max_tokens stop instead of hiding it', async ({ fake, client }) => {
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't1', identifier: 'long' });
    fake.enqueue({ text: 'cut off mid-sen', stopReason: 'max_tokens' });
    const res = await agent.run(sessionId, 'write a novel');
    expect(res.run.state).toBe('completed');
    expect(res.run.stopReason).toBe('max_tokens');
    expect(res.text).toBe('cut off mid-sen');
  });

  test('rejects an unknown agent, session or run with typed errors', async ({ client }) => {
    expect(() => client.agent('nope')).toThrow(NotFoundError);
    try {
      client.agent('nope');
    } catch (err) {
      expect(err).toMatchObject({ code: 'not_found', kind: 'agent', id: 'nope' });
    }
    await expect(client.agent('chat').run('00000000-0000-0000-0000-000000000000', 'hi')).rejects.toMatchObject({
      code: 'not_found',
      kind: 'session',
    });
    await expect(client.agent('chat').enqueue('not-a-uuid', 'hi')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.agent('chat').newSession({ tenantId: '', identifier: 'x' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    const sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'x' });
    await expect(client.agent('chat').enqueue(sessionId, '  ')).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await client.runs.get('00000000-0000-0000-0000-000000000000')).toBeNull();
    await expect(client.runs.wait('00000000-0000-0000-0000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
  });
});
