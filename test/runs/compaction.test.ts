/**
 * Compaction of long sessions (src/runs/compaction.ts) against a fake Messages API whose context
 * window is 4,000 tokens (it answers 400 "prompt is too long" past it, like the real API): sessions
 * driven past the agents' trigger compact durably, the requests that follow fit, the archived
 * originals stay readable, tool_use/tool_result pairs are never split, and a run's pick-up reads
 * only the messages after the latest compaction (EXPLAIN ANALYZE counts the rows).
 */
import pg from 'pg';
import { afterAll, describe, expect } from 'vitest';
import { z } from 'zod';
import {
  AgentPG,
  ConfigError,
  defineAgent,
  defineTool,
  SUMMARY_HEADER,
  summarizeStrategy,
  type MessagePage,
  type Run,
  type RunEvent,
} from '../../src/index.js';
import type Anthropic from '@anthropic-ai/sdk';
import { dropOldestTurns, SUMMARIZER_SYSTEM, SUMMARIZE_INSTRUCTION } from '../../src/runs/compactionStrategies.js';
import { cutIndex, estimateRequestTokens } from '../../src/runs/compaction.js';
import { insertCompaction } from '../../src/runs/sql/insertCompaction.js';
import { PICK_UP_SQL } from '../../src/runs/sql/readPickUp.js';
import { createHttpApp } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';
import type { StoredMessage } from '../../src/runs/types.js';
import {
  startFakeAnthropic,
  stripCacheControl,
  type FakeAnthropic,
  type FakeRequest,
} from '../../src/testing/index.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';
import { RUN_STREAM_CHANNEL } from '../../src/events/channels.js';
import type { TestDatabase } from '../helpers/db.js';
import { assertValidForApi } from './crashHarness.js';
import { MODEL, startClient } from './helpers.js';

const WINDOW = 4000;
const TRIGGER = 3000; // 0.75 of the window
const PAGE = (n: number) => `page ${n}: ` + 'lorem ipsum '.repeat(250); // ~3,000 characters, ~750 tokens
const settings = { contextWindowTokens: WINDOW, triggerFraction: 0.75, targetFraction: 0.5, keepLastMessages: 2 };

const fetchPage = defineTool({
  name: 'fetch_page',
  description: 'Fetches a page.',
  inputSchema: z.object({ n: z.number() }),
  execute: ({ n }) => PAGE(n),
});

/** Which agent sent a request: each has its own system prompt. */
const agentOf = (r: FakeRequest) => /AGENT-(\w+)/.exec(JSON.stringify(r.body.system ?? ''))?.[1];
const isSummarizer = (r: FakeRequest) => r.body.system === SUMMARIZER_SYSTEM;
const tokensOf = (r: FakeRequest) => estimateRequestTokens(stripCacheControl(r.body) as any);

/** Tool turn first (fetch the page the prompt names), then a short answer. */
function model(req: FakeRequest) {
  if (isSummarizer(req))
    return { text: `the user read pages so far (${req.body.messages.length} messages summarized)` };
  const last = req.body.messages.at(-1)!;
  const blocks = Array.isArray(last.content) ? last.content : [];
  if (blocks.some((b) => b.type === 'tool_result')) return { text: 'read it' };
  const text = blocks.map((b: any) => b.text ?? '').join(' ');
  const n = Number(/fetch page (\d+)/.exec(text)?.[1] ?? 0);
  return { toolUses: [{ name: 'fetch_page', input: { n } }] };
}

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let listener: pg.Client;
const streamed: Array<{ r: string; e: RunEvent }> = [];

test.beforeAll(async ({ db: testDb }) => {
  db = testDb;
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => streamed.push(JSON.parse(n.payload!)));
  await listener.query(`listen ${RUN_STREAM_CHANNEL}`);
  fake = await startFakeAnthropic({ contextWindowTokens: WINDOW, responder: model });
  client = await startClient(db, fake, {
    tools: [fetchPage],
    agents: [
      defineAgent({
        name: 'pruning',
        model: MODEL,
        systemPrompt: 'AGENT-pruning',
        tools: ['fetch_page'],
        compaction: settings,
      }),
      defineAgent({
        name: 'summarizing',
        model: MODEL,
        systemPrompt: 'AGENT-summarizing',
        tools: ['fetch_page'],
        compaction: { ...settings, model: 'claude-fake-cheap', strategy: summarizeStrategy },
      }),
      defineAgent({
        name: 'plain',
        model: MODEL,
        systemPrompt: 'AGENT-plain',
        tools: ['fetch_page'],
        compaction: false,
      }),
    ],
  });
});

afterAll(async () => {
  await client?.stop();
  await listener?.end();
  await fake?.close();
});

/** One run to its end; the stream events it sent, as a LISTEN on the stream channel saw them. */
async function turn(agentName: string, sessionId: string, prompt: string): Promise<{ run: Run; events: RunEvent[] }> {
  const runId = await client.agent(agentName).enqueue(sessionId, prompt);
  const run = await client.runs.wait(runId);
  // The stream events are delivered at their transaction's COMMIT, before the final state's.
  await until(() => streamed.some((e) => e.r === runId && e.e.type !== 'text_delta'));
  return { run, events: streamed.filter((e) => e.r === runId).map((e) => e.e) };
}

const compactionEvents = (events: RunEvent[]) => events.filter((e) => e.type === 'compaction');

describe('compaction of long sessions', () => {
  test('without compaction the session outgrows the window: the run fails with "prompt is too long"', async () => {
    const sessionId = await client.agent('plain').newSession({ tenantId: 't', identifier: 'plain' });
    let failed: Run | undefined;
    for (let i = 1; i <= 8 && !failed; i++) {
      const { run } = await turn('plain', sessionId, `fetch page ${i}`);
      if (run.state === 'failed') failed = run;
    }
    expect(failed).toMatchObject({ errorType: 'invalid_request_error' });
    expect(failed!.errorMessage).toMatch(/prompt is too long: \d+ tokens > 4000 maximum/);
  });

  test('pruning old tool outputs: every request stays under the window, originals archived unchanged, pairs intact', async () => {
    const sessionId = await client.agent('pruning').newSession({ tenantId: 't', identifier: 'pruning' });
    const events: RunEvent[] = [];
    for (let i = 1; i <= 8; i++) {
      const t = await turn('pruning', sessionId, `fetch page ${i}`);
      expect(t.run.state).toBe('completed');
      events.push(...t.events);
    }
    const compactions = await client.sessions.compactions(sessionId);
    expect(compactions.length).toBeGreaterThanOrEqual(1);
    // Pruning was enough: no summarizer call.
    expect(fake.requests.filter((r) => isSummarizer(r))).toHaveLength(0);
    for (const c of compactions) {
      expect(c).toMatchObject({ strategy: 'hybrid', model: null, inputTokens: 0 });
      expect(c.tokensBefore).toBeGreaterThanOrEqual(TRIGGER);
      expect(c.tokensAfter).toBeLessThan(TRIGGER);
      expect(JSON.stringify(c.replacement)).toContain('[tool output pruned at compaction: ');
    }
    // One stream event per compaction, saying what the row says.
    expect(compactionEvents(events)).toEqual(
      compactions.map((c) => ({
        type: 'compaction',
        number: c.number,
        messagesArchived: c.messagesArchived,
        tokensBefore: c.tokensBefore,
        tokensAfter: c.tokensAfter,
        strategy: 'hybrid',
      })),
    );

    // Every request of the agent fit the window and was valid for the API; the request right after
    // each compaction was under the trigger.
    const requests = fake.requests.filter((r) => agentOf(r) === 'pruning');
    expect(requests).toHaveLength(16);
    for (const r of requests) {
      expect(r.status).toBe(200);
      expect(tokensOf(r)).toBeLessThan(WINDOW);
      assertValidForApi(r.body.messages);
    }
    expect(Math.max(...requests.map(tokensOf))).toBeLessThan(TRIGGER);

    // The originals: all 32 messages still stored, the page tool outputs unchanged.
    const all = await client.sessions.messages(sessionId);
    expect(all).toHaveLength(32);
    const outputs = all.flatMap((m) =>
      m.content.filter((b: any) => b.type === 'tool_result').map((b: any) => b.content),
    );
    expect(outputs).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map(PAGE));
    // Paged: archived included on request; by default from the latest compaction point on.
    const pages: StoredMessage[] = [];
    for (let after: number | null = 0; after !== null;) {
      const page: MessagePage = await client.sessions.messages(sessionId, { after, limit: 5, archived: true });
      pages.push(...page.messages);
      after = page.nextAfter;
    }
    expect(pages.map((m) => m.seq)).toEqual(all.map((m) => m.seq));
    const latest = compactions.at(-1)!;
    const live = await client.sessions.messages(sessionId, { limit: 100 });
    expect(live.messages.map((m) => m.seq)).toEqual(all.filter((m) => m.seq > latest.throughSeq).map((m) => m.seq));

    // Never split: the first message after each compaction point opens a turn (no tool_result).
    for (const c of compactions) {
      const first = all.find((m) => m.seq > c.throughSeq)!;
      expect(first.role === 'assistant' || !first.content.some((b: any) => b.type === 'tool_result')).toBe(true);
    }
  });

  test('summarizing: a cheaper model writes the summary, the next request starts with it, a later compaction builds on it', async () => {
    const before = fake.requests.length;
    const sessionId = await client.agent('summarizing').newSession({ tenantId: 't', identifier: 'summarizing' });
    for (let i = 1; i <= 10; i++) {
      const t = await turn('summarizing', sessionId, `fetch page ${i}`);
      expect(t.run.state).toBe('completed');
    }
    const compactions = await client.sessions.compactions(sessionId);
    expect(compactions.length).toBeGreaterThanOrEqual(2);
    const requests = fake.requests.slice(before);
    const summarizerCalls = requests.filter(isSummarizer);
    expect(summarizerCalls).toHaveLength(compactions.length);
    for (const [i, c] of compactions.entries()) {
      expect(c).toMatchObject({ number: i + 1, strategy: 'summarize', model: 'claude-fake-cheap' });
      expect(c.inputTokens).toBeGreaterThan(0);
      expect(c.outputTokens).toBeGreaterThan(0);
      expect(c.replacement).toHaveLength(1);
      expect(c.replacement[0]).toMatchObject({ role: 'user' });
      expect((c.replacement[0].content[0] as any).text.startsWith(SUMMARY_HEADER)).toBe(true);
      const call = summarizerCalls[i];
      expect(call.body.model).toBe('claude-fake-cheap');
      assertValidForApi(call.body.messages);
      const lastBlocks = call.body.messages.at(-1)!.content as any[];
      expect(lastBlocks.at(-1)).toEqual({ type: 'text', text: SUMMARIZE_INSTRUCTION });
      // The summarizer's request never carries the long tool outputs (pruned first).
      expect(JSON.stringify(call.body)).not.toContain('lorem ipsum lorem ipsum');
    }
    // The second summarization reads the first summary (it is part of what gets archived).
    expect(JSON.stringify(summarizerCalls[1].body.messages[0])).toContain(SUMMARY_HEADER);
    // The agent request right after each summarizer call starts with that summary.
    for (const call of summarizerCalls) {
      const next = requests.slice(requests.indexOf(call) + 1).find((r) => agentOf(r) === 'summarizing')!;
      const first = (next.body.messages[0].content as any[])[0];
      expect(first.text.startsWith(SUMMARY_HEADER)).toBe(true);
      expect(tokensOf(next)).toBeLessThan(TRIGGER);
      assertValidForApi(next.body.messages);
    }
  });

  test('pick-up reads only the messages after the latest compaction, however long the session', async () => {
    const agent = client.agent('pruning');
    const long = await agent.newSession({ tenantId: 't', identifier: 'long' });
    const short = await agent.newSession({ tenantId: 't', identifier: 'short' });
    const seed = async (sessionId: string, n: number) => {
      await db.query(
        `insert into agentpg_messages (session_id, role, content)
         select $1, case when g % 2 = 1 then 'user' else 'assistant' end,
                jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'old message ' || g))
           from generate_series(1, $2::int) g`,
        [sessionId, n],
      );
    };
    await seed(long, 5000);
    await seed(short, 10);
    // The long session compacted at its 4,990th message (as a run would have stored it).
    await db.query(
      `insert into agentpg_compactions (session_id, number, through_seq, replacement, strategy, messages_archived,
           tokens_before, tokens_after, duration_ms)
       select $1, 1, s.seq, $2, 'summarize', 4990, 100000, 100, 1
         from (select seq from agentpg_messages where session_id = $1 order by seq offset 4989 limit 1) s`,
      [long, JSON.stringify([{ role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\n\nold stuff` }] }])],
    );

    // The statement the claim runs: a range of the messages' primary key (session_id, seq > the
    // compaction point it finds itself) that reads the 10 live rows of either session, and nothing else.
    const plan = async (sessionId: string) => {
      const [row] = await db.query(`explain (analyze, format json) ${PICK_UP_SQL}`, [[sessionId], []]);
      const nodes: any[] = [];
      const walk = (n: any) => (nodes.push(n), (n.Plans ?? []).forEach(walk));
      walk(row['QUERY PLAN'][0].Plan);
      return {
        index: nodes.find((n) => n['Index Name'] === 'agentpg_messages_pkey'),
        table: nodes.find((n) => n['Relation Name'] === 'agentpg_messages'),
      };
    };
    for (const sessionId of [long, short]) {
      const { index, table } = await plan(sessionId);
      expect(index['Node Type']).toMatch(/^(Bitmap )?Index (Only )?Scan$/);
      expect(index['Index Cond']).toMatch(/seq > /);
      expect(index['Actual Rows'] * index['Actual Loops']).toBe(10);
      expect(table['Actual Rows'] * table['Actual Loops']).toBe(10);
      expect(table['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(table['Rows Removed by Index Recheck'] ?? 0).toBe(0);
    }

    // A run on the long session sends the summary, the 10 live messages and its prompt: no more.
    const before = fake.requests.length;
    const t = await turn('pruning', long, 'fetch page 9');
    expect(t.run.state).toBe('completed');
    const first = fake.requests[before];
    const sent = JSON.stringify(first.body.messages);
    expect(sent).toContain('old stuff');
    expect(sent).toContain('old message 4991');
    expect(sent).not.toContain('old message 4990');
    expect(first.body.messages.length).toBeLessThanOrEqual(11);
    assertValidForApi(first.body.messages);
  });

  test("a compaction is stored only under the run's claim, and only once per number", async () => {
    const agent = client.agent('pruning');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'fenced' });
    // A run claimed at attempt 1 (no worker runs it: its job is never created) and three messages.
    const [run] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'pruning', 't', 'x') returning id`,
      [sessionId],
    );
    await db.query(`update agentpg_runs set state = 'running', started_at = now(), attempts = 1 where id = $1`, [
      run.id,
    ]);
    await db.query(
      `insert into agentpg_messages (session_id, run_id, role, content)
       select $1, $2, case when g % 2 = 1 then 'user' else 'assistant' end, '[{"type": "text", "text": "hi"}]'
         from generate_series(1, 3) g`,
      [sessionId, run.id],
    );
    const all = (await client.sessions.messages(sessionId)).map((m) => m.seq);
    const c = {
      sessionId,
      number: 1,
      runId: run.id,
      throughSeq: all[0],
      replacement: [{ role: 'user' as const, content: [{ type: 'text', text: 'summary' }] }],
      strategy: 'test',
      model: null,
      messagesArchived: 1,
      tokensBefore: 10,
      tokensAfter: 5,
      inputTokens: 0,
      outputTokens: 0,
      durationMs: 1,
    };
    expect(await insertCompaction(db.pool, c, { runId: run.id, attempt: 2 })).toBeNull(); // a newer claim exists
    expect(await insertCompaction(db.pool, c, { runId: run.id, attempt: 1 })).toMatchObject({ number: 1 });
    expect(await insertCompaction(db.pool, c, { runId: run.id, attempt: 1 })).toBeNull(); // number 1 is taken
    await db.query(`update agentpg_runs set state = 'cancelled', finalized_at = now() where id = $1`, [run.id]);
    expect(await insertCompaction(db.pool, { ...c, number: 2 }, { runId: run.id, attempt: 1 })).toBeNull(); // run ended
    expect(await client.sessions.compactions(sessionId)).toHaveLength(1);

    // The transcript over HTTP: from the compaction point by default, everything with archived=true.
    const app = createHttpApp(client, createMetrics(client, db.pool), { isDraining: () => false, db: db.pool });
    const page = async (query: string) => {
      const res = await app.request(`/v1/sessions/${sessionId}/messages${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { messages: StoredMessage[] }).messages.map((m) => m.seq);
    };
    expect(await page('?archived=true')).toEqual(all);
    expect(await page('')).toEqual(all.slice(1));
    expect((await app.request(`/v1/sessions/${sessionId}/messages?archived=yes`)).status).toBe(400);
  });

  test('a kept tail never starts with a tool_result: the cut moves back to the start of the turn', () => {
    const msg = (role: 'user' | 'assistant', content: any[]): StoredMessage => ({
      id: '',
      seq: 0,
      runId: null,
      role,
      content,
      stopReason: null,
      inputTokens: 0,
      outputTokens: 0,
      createdAt: new Date(0),
    });
    const use = (id: string) => msg('assistant', [{ type: 'tool_use', id, name: 'x', input: {} }]);
    const result = (id: string) => msg('user', [{ type: 'tool_result', tool_use_id: id, content: 'r' }]);
    const history = [
      msg('user', [{ type: 'text', text: 'go' }]),
      use('a'),
      result('a'),
      use('b'),
      result('b'),
      msg('assistant', [{ type: 'text', text: 'done' }]),
    ];
    expect(cutIndex(history, 1)).toBe(5); // the final answer opens a turn
    expect(cutIndex(history, 2)).toBe(3); // not at result('b'): back to its tool_use
    expect(cutIndex(history, 4)).toBe(1);
    expect(cutIndex(history, 6)).toBe(0); // nothing to archive
    expect(cutIndex(history.slice(0, 3), 1)).toBe(1);
  });

  test("the summarizer's input is cut to its window at a turn start, oldest turns first", () => {
    const turn = (n: number): Anthropic.MessageParam[] => [
      { role: 'user', content: [{ type: 'text', text: `question ${n} ${'x'.repeat(400)}` }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: `t${n}`, name: 'x', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${n}`, content: 'r' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'a' }] },
    ];
    const all = [1, 2, 3, 4, 5].flatMap(turn);
    const estimate = (m: Anthropic.MessageParam[]) => estimateRequestTokens({ messages: m });
    const cut = dropOldestTurns(all, estimate(all.slice(8)), estimate);
    expect(cut).toEqual(all.slice(8)); // turns 3 to 5
    assertValidForApi(cut);
    expect(dropOldestTurns(all, 1, estimate)).toEqual(all.slice(16)); // never less than the last turn
    expect(dropOldestTurns(all, estimate(all), estimate)).toBe(all);
  });

  test('impossible settings are a ConfigError at construction', () => {
    const bad = (compaction: unknown) => () =>
      startClientSync({ name: 'x', model: MODEL, compaction: compaction as any });
    expect(bad({ triggerFraction: 1.5 })).toThrow(ConfigError);
    expect(bad({ triggerFraction: 0.5, targetFraction: 0.6 })).toThrow(/must not exceed triggerFraction/);
    expect(bad({ keepLastMessages: 0 })).toThrow(/keepLastMessages must be a positive integer/);
    expect(bad({ window: 100 })).toThrow(/unknown setting "window"/);
    expect(bad({ strategy: { name: 'x' } })).toThrow(/strategy must be/);
  });
});

/** The registry checks the agents in the constructor; nothing is started. */
function startClientSync(agent: Parameters<typeof defineAgent>[0]) {
  return new AgentPG({ databaseUrl: db.url, anthropic: { apiKey: 'k' }, agents: [agent] });
}
