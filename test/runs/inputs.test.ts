import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AlreadyDecidedError,
  defineAgent,
  defineTool,
  requestInput,
  ValidationError,
  type AgentPG,
  type AgentPGConfig,
  type RunEvent,
} from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import { createHttpApp } from '../../src/service/http.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { assertValidTranscript, MODEL, sessionTranscript, toolPromptResponder, untilRunState } from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let other: AgentPG;
const executions: Array<{ tool: string; input: unknown; context: unknown }> = [];

const ask = defineTool({
  name: 'ask_user',
  description: 'Asks the user a question; the answer is the result.',
  inputSchema: z.object({ question: z.string(), timeoutMs: z.number().optional() }),
  execute(input, ctx) {
    executions.push({ tool: 'ask_user', input, context: ctx.context });
    return requestInput({ question: input.question, timeoutMs: input.timeoutMs });
  },
});
const whoami = defineTool({
  name: 'whoami',
  description: 'Reads the run context.',
  inputSchema: z.object({}),
  execute(_input, ctx) {
    executions.push({ tool: 'whoami', input: {}, context: ctx.context });
    return `user ${typeof ctx.context.userId === 'string' ? ctx.context.userId : 'none'}`;
  },
});

const config: Partial<AgentPGConfig> = {
  agents: [defineAgent({ name: 'asker', model: MODEL, tools: ['ask_user', 'whoami'] })],
  tools: [ask, whoami],
  runConcurrency: 1,
};

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  fake.setResponder(toolPromptResponder);
  client = await startClient(config);
  other = await startClient(config);
});

async function enqueue(prompt: string, context?: Record<string, unknown>) {
  const agent = client.agent('asker');
  const sid = await agent.newSession({ tenantId: 't1', identifier: `s-${Math.random()}` });
  return await agent.enqueue(sid, prompt, { context });
}

async function waitingInput(runId: string) {
  await untilRunState(client, runId, 'awaiting_input');
  const [pending] = await client.inputs.list({ runId });
  return pending;
}

describe('input requests: a tool asks the user and the run waits for the answer', { timeout: 120_000 }, () => {
  it('waits holding no worker, is answered over HTTP on another instance, and the answer is the tool_result', async () => {
    const before = executions.length;
    const runId = await enqueue('tool:ask_user:{"question":"Which account?"}');
    const events: RunEvent[] = [];
    const streamed = (async () => {
      for await (const e of other.runs.stream(runId)) events.push(e);
    })();
    const pending = await waitingInput(runId);
    expect(pending).toMatchObject({ runId, toolName: 'ask_user', question: 'Which account?', tenantId: 't1' });
    expect(pending.deadline!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const [job] = await db.query(
      `select j.state from agentpg_boss.job j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
      [runId],
    );
    expect(job.state).toBe('retry'); // set aside: no worker holds it
    // runConcurrency 1 and the slot is free: another run goes through meanwhile.
    expect((await client.runs.result(await enqueue('hello'), { timeoutMs: 60_000 })).text).toBe('plain: hello');

    // The second instance's HTTP API lists and answers it.
    const metrics = { render: async () => '', contentType: 'text/plain' };
    const app = createHttpApp(other, metrics, { isDraining: () => false, db: db.pool });
    const listed = await app.request(`/v1/inputs?tenantId=t1&runId=${runId}`);
    expect(listed.status).toBe(200);
    const { data } = (await listed.json()) as { data: Array<{ toolUseId: string; question: string }> };
    expect(data.map((d) => d.question)).toEqual(['Which account?']);
    const post = (body: unknown) =>
      app.request(`/v1/runs/${runId}/inputs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ toolUseId: data[0].toolUseId, answeredBy: 'x' })).status).toBe(400);
    expect((await post({ toolUseId: 'toolu_nope', answer: 'a', answeredBy: 'x' })).status).toBe(404);
    const ok = await post({ toolUseId: data[0].toolUseId, answer: 'savings', answeredBy: 'alice' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ runState: 'queued' });
    expect((await post({ toolUseId: data[0].toolUseId, answer: 'again', answeredBy: 'x' })).status).toBe(409);

    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: savings');
    // Asked once, never run again: the answer is the result.
    expect(executions.slice(before).filter((e) => e.tool === 'ask_user')).toHaveLength(1);
    const [call] = await db.query(
      `select state, output, question, decided_by, decided_at from agentpg_tool_calls where run_id = $1`,
      [runId],
    );
    expect(call).toMatchObject({
      state: 'succeeded',
      output: 'savings',
      question: 'Which account?',
      decided_by: 'alice',
    });
    expect(call.decided_at).toBeInstanceOf(Date);
    assertValidTranscript(await sessionTranscript(db, runId));
    await streamed;
    const types = events.map((e) => (e.type === 'state' ? `state:${e.state}` : e.type));
    expect(types).toContain('input_requested');
    expect(types).toContain('state:awaiting_input');
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ output: 'savings', isError: false });
    expect(types.at(-1)).toBe('end');
    await expect(
      other.inputs.answer(runId, { toolUseId: data[0].toolUseId, answer: 'late', answeredBy: 'bob' }),
    ).rejects.toBeInstanceOf(AlreadyDecidedError);
  });

  it('answers with plain SQL (agentpg_answer_input), as psql or another language would', async () => {
    const runId = await enqueue('tool:ask_user:{"question":"Colour?"}');
    const pending = await waitingInput(runId);
    const [row] = await db.query(`select agentpg_answer_input($1, $2, 'blue', 'psql') as state`, [
      runId,
      pending.toolUseId,
    ]);
    expect(row.state).toBe('queued');
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: blue');
  });

  it('times out: no answer by the deadline gives the model an is_error result', async () => {
    const runId = await enqueue('tool:ask_user:{"question":"Quick?","timeoutMs":300}');
    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: ERR timed out waiting for an answer');
    const [call] = await db.query(`select state, is_error, decided_by from agentpg_tool_calls where run_id = $1`, [
      runId,
    ]);
    expect(call).toEqual({ state: 'failed', is_error: true, decided_by: 'agentpg' });
    expect(await client.inputs.list({ runId })).toEqual([]);
    assertValidTranscript(await sessionTranscript(db, runId));
  });

  it('cancels a run waiting for an answer (from another instance), answering its open tool call', async () => {
    const runId = await enqueue('tool:ask_user:{"question":"Still there?"}');
    const pending = await waitingInput(runId);
    await other.runs.cancel(runId);
    const run = await client.runs.wait(runId, { timeoutMs: 60_000 });
    expect(run.state).toBe('cancelled');
    assertValidTranscript(await sessionTranscript(db, runId));
    expect(await client.inputs.list({ runId })).toEqual([]);
    const [call] = await db.query(`select state from agentpg_tool_calls where run_id = $1`, [runId]);
    expect(call.state).toBe('failed');
    await expect(
      client.inputs.answer(runId, { toolUseId: pending.toolUseId, answer: 'yes', answeredBy: 'x' }),
    ).rejects.toBeInstanceOf(AlreadyDecidedError);
  });

  it('lists what waits, and on whom, through the agentpg_waits view', async () => {
    const runId = await enqueue('tool:ask_user:{"question":"Name?"}');
    await waitingInput(runId);
    const rows = await db.query(`select kind, tool_name, subject, run_state from agentpg_waits where run_id = $1`, [
      runId,
    ]);
    expect(rows).toEqual([{ kind: 'input', tool_name: 'ask_user', subject: 'Name?', run_state: 'awaiting_input' }]);
    const [p] = await client.inputs.list({ runId });
    await client.inputs.answer(runId, { toolUseId: p.toolUseId, answer: 'Ada', answeredBy: 'me' });
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: Ada');
  });
});

describe('run context: per-run variables for tools', { timeout: 120_000 }, () => {
  it('reaches tools through ctx.context, is stored with the run, and never reaches the model', async () => {
    const secret = `ctx-secret-${Math.random()}`;
    const runId = await enqueue('tool:whoami:{}', { userId: 'u-42', secret });
    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: user u-42');
    expect(run.run.context).toEqual({ userId: 'u-42', secret });
    expect(executions.at(-1)).toMatchObject({ tool: 'whoami', context: { userId: 'u-42', secret } });
    for (const r of fake.requests) expect(JSON.stringify(r.body)).not.toContain(secret);
    // None given: {} for tools, nothing stored.
    const plain = await enqueue('tool:whoami:{}');
    expect((await client.runs.result(plain, { timeoutMs: 60_000 })).text).toBe('result: user none');
    const [row] = await db.query(`select context from agentpg_runs where id = $1`, [plain]);
    expect(row.context).toBeNull();
  });

  it('is refused before anything is written when it is not an object or too large', async () => {
    const agent = client.agent('asker');
    const sid = await agent.newSession({ tenantId: 't1', identifier: 'ctx-bad' });
    await expect(agent.enqueue(sid, 'x', { context: [] as any })).rejects.toBeInstanceOf(ValidationError);
    await expect(agent.enqueue(sid, 'x', { context: { big: 'x'.repeat(20_000) } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await db.query(`select 1 from agentpg_runs where session_id = $1`, [sid])).toEqual([]);
  });

  it('is stored by an enqueue inside the caller transaction too', async () => {
    const agent = client.agent('asker');
    const sid = await agent.newSession({ tenantId: 't1', identifier: 'ctx-tx' });
    const c = await db.pool.connect();
    let runId: string;
    try {
      await c.query('begin');
      runId = await agent.enqueue(sid, 'tool:whoami:{}', { db: c, context: { userId: 'tx-user' } });
      await c.query('commit');
    } finally {
      c.release();
    }
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: user tx-user');
  });
});
