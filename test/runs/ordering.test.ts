import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG } from '../../src/index.js';
import { lastUserText, type FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let a: AgentPG;
let b: AgentPG;

// Max runs of one tenant in flight at once, seen from inside the model call.
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();

const note = defineTool({
  name: 'note',
  description: 'Records a note.',
  inputSchema: z.object({ text: z.string() }),
  execute: async ({ text }) => {
    await new Promise((r) => setTimeout(r, 5));
    return `noted ${text}`;
  },
});

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  const agents = [defineAgent({ name: 'chat', model: MODEL, tools: ['note'] })];
  a = await startClient({ agents, tools: [note], tenantConcurrency: 2 });
  b = await startClient({ agents, tools: [note], tenantConcurrency: 2 });
});

describe('order and limits', () => {
  it('runs 20 runs enqueued at once into one session from two instances in enqueue order, never interleaved', async () => {
    fake.reset();
    // Every run makes a tool call then answers, so each run spans several messages and commits.
    fake.setResponder((req) => {
      const last = req.body.messages.at(-1)!;
      const isToolResult = Array.isArray(last.content) && last.content.some((c: any) => c.type === 'tool_result');
      if (isToolResult) return { text: `done`, latencyMs: 5 };
      return { toolUses: [{ name: 'note', input: { text: lastUserText(req.body) } }], latencyMs: 5 };
    });
    const sessionId = await a.agent('chat').newSession({ tenantId: 'order', identifier: 'one-session' });
    const runIds = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).agent('chat').enqueue(sessionId, `prompt ${i}`)),
    );
    const runs = await Promise.all(runIds.map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
    expect(runs.every((r) => r.state === 'completed')).toBe(true);
    expect(new Set(runs.map((r) => r.instanceId)).size).toBeGreaterThanOrEqual(1);

    // Enqueue order = created_at order; runs started and finished in that order, one at a time.
    const rows = await db.query(
      `select r.id, r.created_at, r.started_at, r.finalized_at, r.instance_id,
              min(m.seq)::int as first_seq, max(m.seq)::int as last_seq, count(m.id)::int as messages
         from agentpg_runs r join agentpg_messages m on m.run_id = r.id
        where r.session_id = $1 group by r.id order by r.created_at, r.id`,
      [sessionId],
    );
    expect(rows).toHaveLength(20);
    for (let i = 1; i < rows.length; i++) {
      const prev = rows[i - 1];
      const cur = rows[i];
      // Started only after the previous one finished: no overlap in time...
      expect(cur.started_at.getTime()).toBeGreaterThanOrEqual(prev.finalized_at.getTime());
      // ...and no interleaving of their messages.
      expect(cur.first_seq).toBeGreaterThan(prev.last_seq);
    }
    expect(rows.every((r) => r.messages === 4)).toBe(true);
    // The transcript each run sent ends with its own prompt's tool round: the conversation order.
    const finals = fake.requests.filter((r) =>
      (r.body.messages.at(-1)!.content as any[]).some((c) => c.type === 'tool_result'),
    );
    const prompts = finals.map((r) => lastUserText({ messages: r.body.messages.slice(0, -2) } as any));
    const byCreated = await db.query(`select prompt from agentpg_runs where session_id = $1 order by created_at, id`, [
      sessionId,
    ]);
    expect(prompts).toEqual(byCreated.map((r) => r.prompt));
    fake.setResponder(undefined);
  });

  it('never runs more than tenantConcurrency runs of one tenant at once across instances', async () => {
    fake.reset();
    // Track concurrency per tenant from the fake's side: each model call is a slow request whose
    // tenant is recovered from the prompt.
    fake.setResponder(async (req) => {
      const tenant = lastUserText(req.body).split(':')[0];
      const n = (inFlight.get(tenant) ?? 0) + 1;
      inFlight.set(tenant, n);
      maxInFlight.set(tenant, Math.max(maxInFlight.get(tenant) ?? 0, n));
      await new Promise((r) => setTimeout(r, 150));
      inFlight.set(tenant, (inFlight.get(tenant) ?? 1) - 1);
      return { text: 'ok' };
    });
    const ids: string[] = [];
    for (const tenant of ['t-a', 't-b']) {
      for (let s = 0; s < 6; s++) {
        const client = s % 2 === 0 ? a : b;
        const sessionId = await client.agent('chat').newSession({ tenantId: tenant, identifier: `s${s}` });
        ids.push(await client.agent('chat').enqueue(sessionId, `${tenant}: hello ${s}`));
      }
    }
    const runs = await Promise.all(ids.map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
    fake.setResponder(undefined);
    expect(runs.every((r) => r.state === 'completed')).toBe(true);
    // The limit held, and was reached (the test would pass trivially at 1).
    expect(maxInFlight.get('t-a')).toBe(2);
    expect(maxInFlight.get('t-b')).toBe(2);
  });
});
