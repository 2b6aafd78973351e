import { describe, expect } from 'vitest';
import { defineAgent, RunFailedError } from '../../src/index.js';
import { test as base } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';

const API_KEY = 'sk-ant-test-secret-key-123';

// The file's one agent, on a client started once for all its tests.
const test = base.extend('chat', { scope: 'file' }, async ({ startClient }) =>
  (await startClient({ agents: [defineAgent({ name: 'chat', model: MODEL })] })).agent('chat'),
);

describe('model errors', () => {
  test('retries a 429 after its retry-after, then succeeds', async ({ fake, chat }) => {
    fake.reset();
    fake.enqueue({ error: { status: 429, retryAfterSeconds: 1 } }, { text: 'finally' });
    const res = await chat.run(await chat.newSession({ tenantId: 't', identifier: '429' }), 'hi');
    expect(res.text).toBe('finally');
    expect(res.run.state).toBe('completed');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0].status).toBe(429);
    // retry-after: 1 was honoured (not the sub-second exponential backoff).
    const gap = fake.requests[1].receivedAt.getTime() - fake.requests[0].receivedAt.getTime();
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  test('retries 529, 500 and a dropped connection, with retry-after-ms', async ({ fake, chat }) => {
    fake.reset();
    fake.enqueue(
      { error: { status: 529, retryAfterMs: 20 } },
      { error: { status: 500, retryAfterMs: 20 } },
      { drop: true },
      { text: 'survived' },
    );
    const res = await chat.run(await chat.newSession({ tenantId: 't', identifier: '5xx' }), 'hi');
    expect(res.text).toBe('survived');
    expect(fake.requests).toHaveLength(4);
  });

  test('fails the run on 401 with error_type authentication_error, without retrying or storing the key', async ({
    db,
    fake,
    chat,
  }) => {
    fake.reset();
    fake.enqueue({ error: { status: 401, message: `invalid x-api-key ${API_KEY}` } });
    const err = await chat.run(await chat.newSession({ tenantId: 't', identifier: '401' }), 'hi').catch((e) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.code).toBe('run_failed');
    expect(err.run).toMatchObject({ state: 'failed', errorType: 'authentication_error' });
    expect(err.run.errorMessage).toMatch(/invalid x-api-key/);
    expect(fake.requests).toHaveLength(1);
    const [row] = await db.query(`select state, error_type, error_message from agentpg_runs where id = $1`, [
      err.run.id,
    ]);
    expect(row.state).toBe('failed');
    expect(row.error_type).toBe('authentication_error');
    expect(row.error_message).not.toContain(API_KEY);
    expect(err.message).not.toContain(API_KEY);
  });

  test('fails the run on 400 with error_type invalid_request_error', async ({ db, fake, chat }) => {
    fake.reset();
    fake.enqueue({ error: { status: 400, message: 'messages: roles must alternate' } });
    const err = await chat.run(await chat.newSession({ tenantId: 't', identifier: '400' }), 'hi').catch((e) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.run).toMatchObject({
      errorType: 'invalid_request_error',
      errorMessage: 'messages: roles must alternate',
    });
    // A failed run leaves the session usable: its job was deleted with it, not failed.
    fake.enqueue({ text: 'next one works' });
    const next = await chat.run(err.run.sessionId, 'again');
    expect(next.text).toBe('next one works');
    const jobs = await db.query(`select state from agentpg_boss.job where singleton_key = $1`, [err.run.sessionId]);
    expect(jobs).toEqual([]);
    expect(next.run.state).toBe('completed');
  });

  test('gives up on a persistent 529 after bounded attempts with error_type overloaded_error', async ({
    fake,
    chat,
  }) => {
    fake.reset();
    fake.setResponder(() => ({ error: { status: 529, retryAfterMs: 5 } }));
    const err = await chat
      .run(await chat.newSession({ tenantId: 't', identifier: 'overloaded' }), 'hi')
      .catch((e) => e);
    fake.setResponder(undefined);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.run.errorType).toBe('overloaded_error');
    expect(fake.requests).toHaveLength(6);
  });
});
