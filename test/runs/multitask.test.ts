import { describe, expect, it } from 'vitest';
import {
  defineAgent,
  SessionBusyError,
  type AgentPG,
  type AgentPGConfig,
  type MultitaskStrategy,
} from '../../src/index.js';
import type { FakeRequest } from '../../src/testing/index.js';
import { createHttpApp } from '../../src/service/http.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { assertValidTranscript, MODEL, untilRunState } from './helpers.js';

let db: TestDatabase;
let a: AgentPG;
let b: AgentPG;

/**
 * Echoes the last user text. `slow:` prompts take 30 s (a run certainly in flight while the test
 * races its enqueues), `mid:` prompts 1.5 s (so a racing interrupt lands while they still wait).
 */
function responder(req: FakeRequest) {
  const last = req.body.messages.at(-1)!;
  // The last text block: an interrupted run's prompt may precede it in the same user turn.
  const text =
    typeof last.content === 'string'
      ? last.content
      : ((last.content as any[]).filter((x) => x.type === 'text').at(-1)?.text as string);
  const latencyMs = text.startsWith('slow:') ? 30_000 : text.startsWith('mid:') ? 1500 : 0;
  return { text: `echo: ${text}`, latencyMs };
}

const config: Partial<AgentPGConfig> = {
  agents: [
    defineAgent({ name: 'chat', model: MODEL }),
    defineAgent({ name: 'strict', model: MODEL, multitaskStrategy: 'reject' }),
  ],
};

test.beforeAll(async ({ db: testDb, fake, startClient }) => {
  db = testDb;
  fake.setResponder(responder);
  a = await startClient(config);
  b = await startClient(config);
});

async function session(agent = 'chat') {
  return await a.agent(agent).newSession({ tenantId: 'mt', identifier: `s-${Math.random()}` });
}

/** A run of the session that is `running` (its model call takes 30 s). */
async function inFlight(sid: string) {
  const runId = await a.agent('chat').enqueue(sid, 'slow: first');
  await untilRunState(a, runId, 'running');
  return runId;
}

/** The same enqueue from both instances at once. */
async function race(sid: string, strategy: MultitaskStrategy | undefined, agent = 'chat') {
  const opts = strategy ? { multitaskStrategy: strategy } : {};
  return await Promise.allSettled([
    a.agent(agent).enqueue(sid, 'mid: from a', opts),
    b.agent(agent).enqueue(sid, 'mid: from b', opts),
  ]);
}

const runsOf = async (sid: string) =>
  await db.query<{ id: string; state: string; prompt: string }>(
    `select id, state, prompt from agentpg_runs where session_id = $1 order by created_at`,
    [sid],
  );

describe('double texting: a second prompt while the session has a run in flight', { timeout: 120_000 }, () => {
  it('enqueue (default): both racing prompts run after the one in flight, in order', async () => {
    const sid = await session();
    const first = await a.agent('chat').enqueue(sid, 'mid: first');
    const [ra, rb] = await race(sid, undefined);
    expect(ra.status === 'fulfilled' && rb.status === 'fulfilled').toBe(true);
    const ids = [first, (ra as PromiseFulfilledResult<string>).value, (rb as PromiseFulfilledResult<string>).value];
    expect(new Set(ids).size).toBe(3);
    const done = await Promise.all(ids.map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
    expect(done.map((r) => r.state)).toEqual(['completed', 'completed', 'completed']);
    // One after the other, in enqueue order.
    const rows = await db.query(
      `select id, started_at, finalized_at from agentpg_runs where session_id = $1 order by created_at`,
      [sid],
    );
    expect(rows[0].id).toBe(first);
    for (let i = 1; i < rows.length; i++)
      expect(rows[i].started_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1].finalized_at.getTime());
  });

  it('reject: of two racing prompts on an idle session exactly one is enqueued, the other gets SessionBusyError', async () => {
    const sid = await session();
    const res = await race(sid, 'reject');
    const ok = res.filter((r) => r.status === 'fulfilled');
    const refused = res.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toBeInstanceOf(SessionBusyError);
    expect(refused[0].reason.runId).toBe(ok[0].value);
    expect(await runsOf(sid)).toHaveLength(1);
    await a.runs.wait(ok[0].value, { timeoutMs: 60_000 });
    // Idle again: accepted.
    await expect(a.agent('chat').enqueue(sid, 'again', { multitaskStrategy: 'reject' })).resolves.toBeTypeOf('string');
  });

  it("reject as the agent's default, and as HTTP 409", async () => {
    const sid = await session('strict');
    const res = await race(sid, undefined, 'strict');
    expect(res.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const metrics = { render: async () => '', contentType: 'text/plain' };
    const app = createHttpApp(b, metrics, { isDraining: () => false, db: db.pool });
    const post = await app.request('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: sid, prompt: 'third' }),
    });
    expect(post.status).toBe(409);
    const overridden = await app.request('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: sid, prompt: 'fourth', multitaskStrategy: 'enqueue' }),
    });
    expect(overridden.status).toBe(202);
  });

  it('interrupt: the run in flight is cancelled keeping what it stored; of two racing interrupts the later wins', async () => {
    const sid = await session();
    const slow = await inFlight(sid);
    const res = await race(sid, 'interrupt');
    expect(res.every((r) => r.status === 'fulfilled')).toBe(true);
    const [ra, rb] = res.map((r) => (r as PromiseFulfilledResult<string>).value);
    expect((await a.runs.wait(slow, { timeoutMs: 60_000 })).state).toBe('cancelled');
    const ends = await Promise.all([ra, rb].map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
    // The one enqueued second cancelled the first while it was still queued.
    expect(ends.map((r) => r.state).sort()).toEqual(['cancelled', 'completed']);
    const rows = await runsOf(sid);
    expect(rows.map((r) => r.state)).toEqual(['cancelled', 'cancelled', 'completed']);
    // The interrupted run's prompt stays in the session's transcript; the winner answered after it.
    const messages = await db.query<{ role: string; content: any[]; run_id: string }>(
      `select role, content, run_id from agentpg_messages where session_id = $1 order by seq`,
      [sid],
    );
    expect(messages[0]).toMatchObject({ run_id: slow, role: 'user' });
    expect(messages.at(-1)!.content[0].text).toMatch(/^echo: mid: from [ab]$/);
    assertValidTranscript(messages);
  });

  it('merge: two racing prompts fold into one queued run, answered in one turn', async () => {
    const sid = await session();
    const slow = await inFlight(sid);
    const res = await race(sid, 'merge');
    expect(res.every((r) => r.status === 'fulfilled')).toBe(true);
    const [ra, rb] = res.map((r) => (r as PromiseFulfilledResult<string>).value);
    expect(ra).toBe(rb);
    const rows = await runsOf(sid);
    expect(rows).toHaveLength(2);
    expect(rows[1].prompt.split('\n\n').sort()).toEqual(['mid: from a', 'mid: from b']);
    await a.runs.cancel(slow); // no need to wait 30 s for it
    const merged = await a.runs.wait(ra, { timeoutMs: 60_000 });
    expect(merged.state).toBe('completed');
    expect(merged.responseText).toMatch(/^echo: mid: from [ab]\n\nmid: from [ab]$/);
    // Nothing to merge into (the session idle): an ordinary run.
    const alone = await a.agent('chat').enqueue(sid, 'later', { multitaskStrategy: 'merge' });
    expect(alone).not.toBe(ra);
    expect((await a.runs.result(alone, { timeoutMs: 60_000 })).text).toBe('echo: later');
  });

  it('a retried enqueue (same idempotency key) gets its run back under every strategy', async () => {
    const sid = await session();
    const slow = await inFlight(sid);
    const merged = await a
      .agent('chat')
      .enqueue(sid, 'mid: once', { multitaskStrategy: 'merge', idempotencyKey: 'k1' });
    const again = await Promise.all(
      (['merge', 'reject', 'interrupt'] as const).map((m) =>
        b.agent('chat').enqueue(sid, 'mid: once', { multitaskStrategy: m, idempotencyKey: 'k1' }),
      ),
    );
    expect(again).toEqual([merged, merged, merged]);
    const rows = await runsOf(sid);
    expect(rows.map((r) => [r.state, r.prompt])).toEqual([
      ['running', 'slow: first'],
      ['queued', 'mid: once'],
    ]);
    await a.runs.cancel(slow);
    expect((await a.runs.result(merged, { timeoutMs: 60_000 })).text).toBe('echo: mid: once');
  });
});
