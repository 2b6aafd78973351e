/**
 * Agents as tools (src/runs/childRuns.ts): an agent calls other agents, each call a child run in a
 * child session on any instance; the parent waits in `awaiting_input` holding no worker, and the
 * child's final answer is its tool_result. Two instances, each running one run at a time.
 */
import { describe, expect } from 'vitest';
import { z } from 'zod';
import {
  AgentPG,
  ConfigError,
  defineAgent,
  defineTool,
  type AgentPGConfig,
  type RunEvent,
  type RunStateChangedEvent,
} from '../../src/index.js';
import { failStuckRuns } from '../../src/runs/index.js';
import type { FakeReply, FakeRequest } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until, untilValue } from '../helpers/until.js';
import { assertValidTranscript, MODEL, sessionTranscript } from './helpers.js';

let db: TestDatabase;
let a: AgentPG;
let b: AgentPG;

/** Checker model calls in flight: each waits for the other (only parallel runs get past it). */
let checkersInFlight = 0;
let checkersTogether = 0;
/** Set by a test: the model call of `slowpoke` waits until this resolves. */
let releaseSlowpoke: () => void = () => {};
let slowpokeGate: Promise<void> = Promise.resolve();

const note = defineTool({
  name: 'note',
  description: 'Takes a note.',
  inputSchema: z.object({ text: z.string() }),
  execute: ({ text }) => `noted ${text}`,
});

const agents = [
  // Three levels: lead → researcher (x2, parallel) → checker.
  defineAgent({ name: 'lead', model: MODEL, systemPrompt: 'role:lead', agents: ['researcher'], tools: ['note'] }),
  defineAgent({
    name: 'researcher',
    description: 'Researches one topic.',
    model: MODEL,
    systemPrompt: 'role:researcher',
    agents: ['checker'],
  }),
  defineAgent({ name: 'checker', model: MODEL, systemPrompt: 'role:checker' }),
  // A child that fails (the model answers 400) next to one that succeeds.
  defineAgent({ name: 'boss', model: MODEL, systemPrompt: 'role:boss', agents: ['flaky', 'checker'] }),
  defineAgent({ name: 'flaky', model: MODEL, systemPrompt: 'role:flaky' }),
  // A hierarchy that stays busy until released: cancelled mid-way.
  defineAgent({ name: 'chief', model: MODEL, systemPrompt: 'role:chief', agents: ['middle'] }),
  defineAgent({ name: 'middle', model: MODEL, systemPrompt: 'role:middle', agents: ['slowpoke'] }),
  defineAgent({ name: 'slowpoke', model: MODEL, systemPrompt: 'role:slowpoke' }),
  // A parent whose child is ended by the cleanup (timed out), not by its own execution.
  defineAgent({ name: 'patient', model: MODEL, systemPrompt: 'role:patient', agents: ['slowpoke'] }),
];

function lastBlocks(req: FakeRequest): any[] {
  const last = req.body.messages.at(-1)!;
  return typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as any[]);
}

/** The model, by the agent's system prompt (role:<name>) and the conversation. */
async function responder(req: FakeRequest): Promise<FakeReply> {
  const system = typeof req.body.system === 'string' ? req.body.system : JSON.stringify(req.body.system);
  const role = /role:(\w+)/.exec(system)?.[1] ?? '?';
  const blocks = lastBlocks(req);
  const results = blocks.filter((x) => x.type === 'tool_result');
  const usage = { input_tokens: 10, output_tokens: 1 };
  if (results.length > 0) {
    const text = results.map((r) => `${r.is_error ? 'ERR ' : ''}${String(r.content)}`).join(' | ');
    return { text: `${role} got: ${text}`, usage };
  }
  const prompt = blocks.find((x) => x.type === 'text')?.text ?? '';
  switch (role) {
    case 'lead':
      return {
        toolUses: [
          { name: 'researcher', input: { prompt: 'topic A' } },
          { name: 'researcher', input: { prompt: 'topic B' } },
          { name: 'note', input: { text: 'started' } },
        ],
        usage,
      };
    case 'researcher':
      return { toolUses: [{ name: 'checker', input: { prompt: `check ${prompt}` } }], usage };
    case 'checker': {
      if (prompt.startsWith('check topic')) {
        // Both checkers of the hierarchy must be in their model call at the same moment.
        checkersInFlight++;
        checkersTogether = Math.max(checkersTogether, checkersInFlight);
        await until(() => checkersTogether >= 2, 20_000, 10).catch(() => {});
        checkersInFlight--;
      }
      return { text: `checked(${prompt})`, usage };
    }
    case 'boss':
      return {
        toolUses: [
          { name: 'flaky', input: { prompt: 'try' } },
          { name: 'checker', input: { prompt: 'fine' } },
        ],
        usage,
      };
    case 'flaky':
      return { error: { status: 400, message: 'flaky cannot do this' } };
    case 'chief':
      return { toolUses: [{ name: 'middle', input: { prompt: 'go down' } }], usage };
    case 'middle':
      return { toolUses: [{ name: 'slowpoke', input: { prompt: 'take your time' } }], usage };
    case 'patient':
      return { toolUses: [{ name: 'slowpoke', input: { prompt: 'take forever' } }], usage };
    case 'slowpoke':
      await slowpokeGate;
      return { text: 'finally', usage };
    default:
      return { text: `unknown role ${role}` };
  }
}

const config: Partial<AgentPGConfig> = { agents, tools: [note], runConcurrency: 1 };

test.beforeAll(async ({ db: testDb, fake, startClient }) => {
  db = testDb;
  fake.setResponder(responder);
  a = await startClient({ ...config, instanceId: 'inst-a' });
  b = await startClient({ ...config, instanceId: 'inst-b' });
});

/** The run tree, by depth, then agent name: children started in one transaction share created_at. */
async function treeOf(rootId: string) {
  return await db.query(
    `with recursive tree as (
       select * from agentpg_runs where id = $1
       union all select c.* from agentpg_runs c join tree t on c.parent_run_id = t.id
     )
     select t.id, t.agent_name, t.state, t.depth, t.parent_run_id, t.parent_tool_call_id, t.response_text,
            t.input_tokens, t.output_tokens, t.cache_creation_input_tokens, t.cache_read_input_tokens, t.started_at, t.finalized_at, t.instance_id,
            s.parent_session_id, s.identifier, tc.tool_use_id as parent_tool_use_id, tc.run_id as call_run_id,
            (select session_id from agentpg_runs p where p.id = t.parent_run_id) as parent_session
       from tree t join agentpg_sessions s on s.id = t.session_id
       left join agentpg_tool_calls tc on tc.id = t.parent_tool_call_id
      order by t.depth, t.agent_name, t.created_at, t.id`,
    [rootId],
  );
}

describe('agents as tools', () => {
  test('a three-level hierarchy: parallel children on both instances, answers flow up, tokens roll up', async () => {
    const stateEvents: RunStateChangedEvent[] = [];
    const off = await b.events.subscribe('run_state_changed', (e) => stateEvents.push(e));
    const agent = a.agent('lead');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'tree' });
    const runId = await agent.enqueue(sessionId, 'research A and B', { context: { userId: 'u-7' } });
    const streamed: RunEvent[] = [];
    const streaming = (async () => {
      for await (const e of b.runs.stream(runId)) streamed.push(e);
    })();
    const { text, run } = await a.runs.result(runId, { timeoutMs: 60_000 });
    await streaming;
    await off();

    expect(text).toBe(
      'lead got: researcher got: checked(check topic A) | researcher got: checked(check topic B) | noted started',
    );
    // The two checkers were in their model call at the same moment: with one run at a time per
    // instance, on the two instances.
    expect(checkersTogether).toBe(2);

    const tree = await treeOf(runId);
    expect(tree.map((r) => [r.agent_name, r.depth, r.state])).toEqual([
      ['lead', 0, 'completed'],
      ['researcher', 1, 'completed'],
      ['researcher', 1, 'completed'],
      ['checker', 2, 'completed'],
      ['checker', 2, 'completed'],
    ]);
    expect(new Set(tree.filter((r) => r.agent_name === 'checker').map((r) => r.instance_id))).toEqual(
      new Set(['inst-a', 'inst-b']),
    );
    for (const child of tree.slice(1)) {
      // The child's session hangs under its parent's; its tool call is the parent's.
      expect(child.parent_session_id).toBe(child.parent_session);
      expect(child.call_run_id).toBe(child.parent_run_id);
      expect(child.identifier).toBe(child.parent_tool_use_id);
      assertValidTranscript(await sessionTranscript(db, child.id));
    }
    assertValidTranscript(await sessionTranscript(db, runId));
    // The run context given at the root reaches every run of the tree (their tools read it).
    const contexts = await db.query(`select context from agentpg_runs where id = any($1)`, [tree.map((r) => r.id)]);
    expect(contexts).toEqual(tree.map(() => ({ context: { userId: 'u-7' } })));
    // Exactly one child per tool call.
    const [dupes] = await db.query(
      `select count(*)::int as n from (select parent_tool_call_id from agentpg_runs where parent_tool_call_id is not null group by 1 having count(*) > 1) d`,
    );
    expect(dupes.n).toBe(0);

    // Tokens: each run counts its own; the totals are the whole tree's.
    const sum = (col: string) => tree.reduce((n, r) => n + Number(r[col]), 0);
    expect(run.inputTokens).toBe(Number(tree[0].input_tokens));
    expect(sum('input_tokens')).toBeGreaterThan(run.inputTokens);
    expect(await a.runs.totals(runId)).toEqual({
      runs: 5,
      inputTokens: sum('input_tokens'),
      outputTokens: sum('output_tokens'),
      cacheCreationInputTokens: sum('cache_creation_input_tokens'),
      cacheReadInputTokens: sum('cache_read_input_tokens'),
    });
    expect((await a.runs.totals(tree[1].id))!.runs).toBe(2);
    const children = await a.runs.children(runId);
    expect(children.map((c) => [c.agentName, c.parentRunId, c.depth])).toEqual([
      ['researcher', runId, 1],
      ['researcher', runId, 1],
    ]);

    // The parent's stream shows its children starting and finishing, with their run ids.
    const childIds = new Set(children.map((c) => c.id));
    const started = streamed.filter((e) => e.type === 'child_run_started');
    const finished = streamed.filter((e) => e.type === 'child_run_finished');
    expect(new Set(started.map((e) => (e as any).childRunId))).toEqual(childIds);
    expect(new Set(finished.map((e) => (e as any).childRunId))).toEqual(childIds);
    expect(finished.every((e) => (e as any).state === 'completed' && (e as any).name === 'researcher')).toBe(true);
    expect(streamed.some((e) => e.type === 'state' && e.state === 'awaiting_input')).toBe(true);
    expect(streamed.at(-1)).toMatchObject({ type: 'end' });

    // The run state NOTIFY carries the parent fields.
    const childEvent = stateEvents.find((e) => e.runId === children[0].id && e.state === 'queued');
    expect(childEvent).toMatchObject({ parentRunId: runId, depth: 1 });
    expect(stateEvents.find((e) => e.runId === runId)).toMatchObject({ parentRunId: null, depth: 0 });

    // Nothing waits any more; no job is left.
    expect(await db.query(`select * from agentpg_waiting_on_children`)).toEqual([]);
    expect(await db.query(`select id from agentpg_boss.job where name = 'agentpg_runs'`)).toEqual([]);
  });

  test('a child that fails: the parent gets an is_error tool_result and goes on', async () => {
    const agent = a.agent('boss');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'fail' });
    const { text } = await agent.run(sessionId, 'delegate');
    expect(text).toBe('boss got: ERR agent flaky failed: invalid_request_error: flaky cannot do this | checked(fine)');
    const tree = await treeOf((await a.runs.children(await lastRunOf(sessionId)))[0].parentRunId!);
    expect(tree.map((r) => [r.agent_name, r.state])).toEqual([
      ['boss', 'completed'],
      ['checker', 'completed'],
      ['flaky', 'failed'],
    ]);
    const calls = await db.query(
      `select tool_name, state, is_error from agentpg_tool_calls where run_id = $1 order by tool_name`,
      [tree[0].id],
    );
    expect(calls).toEqual([
      { tool_name: 'checker', state: 'succeeded', is_error: false },
      { tool_name: 'flaky', state: 'failed', is_error: true },
    ]);
    assertValidTranscript(await sessionTranscript(db, tree[0].id));
  });

  test('cancelling the root mid-way cancels the whole tree, and every transcript stays valid', async () => {
    slowpokeGate = new Promise((r) => (releaseSlowpoke = r));
    const agent = a.agent('chief');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'cancel' });
    const runId = await agent.enqueue(sessionId, 'go');
    // Down to the grandchild, which is in its model call.
    await untilValue(
      async () => (await treeOf(runId)).find((r) => r.agent_name === 'slowpoke' && r.state === 'running'),
      Boolean,
      30_000,
    );
    expect((await db.query(`select run_id, child_run_id from agentpg_waiting_on_children`)).length).toBe(2);
    await b.runs.cancel(runId);
    const root = await a.runs.wait(runId, { timeoutMs: 30_000 });
    expect(root.state).toBe('cancelled');
    const tree = await untilValue(
      () => treeOf(runId),
      (t) => t.every((r) => ['cancelled', 'completed', 'failed'].includes(r.state)),
      30_000,
    );
    releaseSlowpoke();
    expect(tree.map((r) => [r.agent_name, r.state])).toEqual([
      ['chief', 'cancelled'],
      ['middle', 'cancelled'],
      ['slowpoke', 'cancelled'],
    ]);
    for (const r of tree) assertValidTranscript(await sessionTranscript(db, r.id));
    await until(
      async () => (await db.query(`select id from agentpg_boss.job where name = 'agentpg_runs'`)).length === 0,
      30_000,
    );
  });

  test("a child ended by the cleanup's timeout, not by its execution: the result still reaches the parent", async () => {
    slowpokeGate = new Promise((r) => (releaseSlowpoke = r));
    const agent = a.agent('patient');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'timeout' });
    const runId = await agent.enqueue(sessionId, 'go');
    await untilValue(
      () => treeOf(runId),
      (t) => t.length === 2 && t[0].state === 'awaiting_input' && t[1].state === 'running',
      30_000,
    );
    // The cleanup's statement (every run `running` longer than the timeout, here 0 ms: only the child).
    const failed = await failStuckRuns(db.pool, 0);
    expect(failed).toHaveLength(1);
    const { text } = await a.runs.result(runId, { timeoutMs: 30_000 });
    expect(text).toBe('patient got: ERR agent slowpoke failed: timeout: run timed out');
    releaseSlowpoke();
    // The child's execution, still in its model call, finds its claim gone and writes nothing.
    await until(async () => (await a.health()).inFlightRuns + (await b.health()).inFlightRuns === 0, 30_000);
    const tree = await treeOf(runId);
    expect(tree.map((r) => [r.agent_name, r.state])).toEqual([
      ['patient', 'completed'],
      ['slowpoke', 'failed'],
    ]);
    assertValidTranscript(await sessionTranscript(db, runId));
  });

  test('a run woken from its wait and cancelled again is still ended by an execution (its tool turn answered)', async () => {
    slowpokeGate = new Promise((r) => (releaseSlowpoke = r));
    const agent = a.agent('patient');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'cancel-twice' });
    const runId = await agent.enqueue(sessionId, 'go');
    await untilValue(
      () => treeOf(runId),
      (t) => t.length === 2 && t[0].state === 'awaiting_input' && t[1].state === 'running',
      30_000,
    );
    // Two cancels in one transaction: the first wakes the waiting run (queued, cancel requested),
    // the second must not end it there, as a run that never started (its open turn unanswered).
    const tx = await db.pool.connect();
    try {
      await tx.query('begin');
      const first = await tx.query(`select run_state from agentpg_request_cancel($1)`, [runId]);
      const second = await tx.query(`select run_state from agentpg_request_cancel($1)`, [runId]);
      await tx.query('commit');
      expect([first.rows[0].run_state, second.rows[0].run_state]).toEqual(['queued', 'queued']);
    } finally {
      tx.release();
    }
    expect((await a.runs.wait(runId, { timeoutMs: 30_000 })).state).toBe('cancelled');
    releaseSlowpoke();
    assertValidTranscript(await sessionTranscript(db, runId));
    const [call] = await db.query(`select state, is_error from agentpg_tool_calls where run_id = $1`, [runId]);
    expect(call).toEqual({ state: 'failed', is_error: true });
  });

  test('an agent call without a prompt is answered with an error, without a child', async ({ fake }) => {
    fake.enqueue({ toolUses: [{ name: 'checker', input: { question: 'no prompt here' } }] });
    const agent = a.agent('researcher');
    const sessionId = await agent.newSession({ tenantId: 'acme', identifier: 'bad-input' });
    const { text, run } = await agent.run(sessionId, 'anything');
    expect(text).toBe('researcher got: ERR invalid input for agent "checker": prompt must be a non-empty string');
    expect(await a.runs.children(run.id)).toEqual([]);
  });
});

async function lastRunOf(sessionId: string): Promise<string> {
  const [r] = await db.query(`select id from agentpg_runs where session_id = $1 order by created_at desc limit 1`, [
    sessionId,
  ]);
  return r.id;
}

describe('registration checks (ConfigError)', () => {
  const build = (defs: Array<Parameters<typeof defineAgent>[0]>, maxAgentDepth?: number) => () =>
    new AgentPG({
      databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
      anthropic: { apiKey: 'test' },
      agents: defs,
      ...(maxAgentDepth ? { maxAgentDepth } : {}),
    });
  test.each([
    ['an unknown agent', [{ name: 'x', model: MODEL, agents: ['nobody'] }], /not registered/],
    [
      'a cycle',
      [
        { name: 'x', model: MODEL, agents: ['y'] },
        { name: 'y', model: MODEL, agents: ['x'] },
      ],
      /cycle: x → y → x/,
    ],
    ['an agent calling itself', [{ name: 'x', model: MODEL, agents: ['x'] }], /cycle: x → x/],
    [
      'a tool and an agent of the same name',
      [
        { name: 'x', model: MODEL, agents: ['y'], tools: ['y'] },
        { name: 'y', model: MODEL },
      ],
      /both named "y"/,
    ],
  ])('refuses %s', (_title, defs, message) => {
    expect(build(defs)).toThrow(ConfigError);
    expect(build(defs)).toThrow(message);
  });

  test('refuses chains deeper than maxAgentDepth, accepts them up to it', () => {
    const chain = [
      { name: 'l0', model: MODEL, agents: ['l1'] },
      { name: 'l1', model: MODEL, agents: ['l2'] },
      { name: 'l2', model: MODEL },
    ];
    expect(build(chain, 1)).toThrow(/"l0" nests child runs 2 deep.*maxAgentDepth \(1\)/);
    expect(build(chain, 2)).not.toThrow();
  });
});
