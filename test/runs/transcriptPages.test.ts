import { describe, expect, it } from 'vitest';
import { defineAgent, ValidationError, type AgentPG, type StoredMessage } from '../../src/index.js';
import { createHttpApp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';

let db: TestDatabase;
let client: AgentPG;
let sessionId: string;

test.beforeAll(async ({ db: testDb, startClient }) => {
  db = testDb;
  client = await startClient({ agents: [defineAgent({ name: 'chat', model: MODEL })] });
  sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'long' });
  // 250 stored messages, alternating roles, as a long conversation leaves them.
  await db.query(
    `insert into agentpg_messages (session_id, role, content)
     select $1, case when i % 2 = 1 then 'user' else 'assistant' end, jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'm' || i))
       from generate_series(1, 250) i order by i`,
    [sessionId],
  );
});

const textOf = (m: StoredMessage) => (m.content[0] as { text: string }).text;

describe('a paginated transcript', () => {
  it('pages through 250 messages 100 at a time, in order, and ends with nextAfter null', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: number | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await client.sessions.messages(sessionId, { after });
      sizes.push(res.messages.length);
      seen.push(...res.messages.map(textOf));
      if (res.nextAfter === null) break;
      expect(res.nextAfter).toBe(res.messages.at(-1)!.seq);
      after = res.nextAfter;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => `m${i + 1}`));
    // Exactly a page's worth left: the last full page still says there is no next one.
    const all = await client.sessions.messages(sessionId);
    expect(all).toHaveLength(250);
    const tail = await client.sessions.messages(sessionId, { after: all[149].seq, limit: 100 });
    expect(tail.messages).toHaveLength(100);
    expect(tail.nextAfter).toBeNull();
  });

  it('refuses a limit out of 1..1000 or a bad after', async () => {
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { after: -1 }]) {
      await expect(client.sessions.messages(sessionId, bad)).rejects.toBeInstanceOf(ValidationError);
    }
    const big = await client.sessions.messages(sessionId, { limit: 1000 });
    expect(big).toMatchObject({ nextAfter: null });
    expect(big.messages).toHaveLength(250);
  });

  it('serves the pages over HTTP: GET /v1/sessions/:id/messages?after=&limit=', async () => {
    const app = createHttpApp(client, createMetrics(client, db.pool), { isDraining: () => false, db: db.pool });
    const first = await app.request(`/v1/sessions/${sessionId}/messages?limit=200`);
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { messages: StoredMessage[]; nextAfter: number };
    expect(page1.messages).toHaveLength(200);
    const second = await app.request(`/v1/sessions/${sessionId}/messages?after=${page1.nextAfter}`);
    const page2 = (await second.json()) as { messages: StoredMessage[]; nextAfter: number | null };
    expect(page2.messages.map(textOf)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 201}`));
    expect(page2.nextAfter).toBeNull();

    expect((await app.request(`/v1/sessions/${sessionId}/messages?limit=5000`)).status).toBe(400);
    expect((await app.request(`/v1/sessions/${sessionId}/messages?after=abc`)).status).toBe(400);
    expect((await app.request(`/v1/sessions/00000000-0000-4000-8000-000000000000/messages`)).status).toBe(404);
    expect((await app.request(`/v1/sessions/nope/messages`)).status).toBe(404);
  });
});
