import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AlreadyDecidedError, defineAgent, defineTool, type AgentPG, type AgentPGConfig } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { createHttpApp } from '../../src/service/http.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  assertValidTranscript,
  MODEL,
  sessionTranscript,
  startClient,
  toolPromptResponder,
  untilRunState,
} from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
const executions: Array<{ tool: string; input: unknown; attempt: number }> = [];

const transfer = defineTool({
  name: 'transfer',
  description: 'Sends money.',
  inputSchema: z.object({ amount: z.number() }),
  needsApproval: true,
  execute(input, ctx) {
    executions.push({ tool: 'transfer', input, attempt: ctx.attempt });
    return `sent ${input.amount}`;
  },
});
const maybe = defineTool({
  name: 'maybe',
  description: 'Needs approval above 100.',
  inputSchema: z.object({ amount: z.number() }),
  needsApproval: (input) => input.amount > 100,
  execute: (input) => `maybe sent ${input.amount}`,
});
const quick = defineTool({
  name: 'quick',
  description: 'Waits for approval briefly.',
  inputSchema: z.object({}),
  needsApproval: true,
  approvalTimeoutMs: 300,
  execute: () => 'quick ran',
});

const agents = [defineAgent({ name: 'banker', model: MODEL, tools: ['transfer', 'maybe', 'quick'] })];
const tools = [transfer, maybe, quick];
// The backstop poll at 10 minutes: every resume here must come from a notification or, for a
// deadline, from the worker's own wake at it (worker.ts wakeAt), never from a poll.
const config: Partial<AgentPGConfig> = { agents, tools, runConcurrency: 1, runPollIntervalMs: 600_000 };

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic({ responder: toolPromptResponder });
  client = await startClient(db, fake, config);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  await fake?.close();
  await db?.drop();
});

async function enqueue(prompt: string, sessionId?: string) {
  const agent = client.agent('banker');
  const sid = sessionId ?? (await agent.newSession({ tenantId: 'bank', identifier: `s-${Math.random()}` }));
  const runId = await agent.enqueue(sid, prompt);
  return { runId, sessionId: sid };
}

async function waiting(runId: string) {
  await untilRunState(client, runId, 'awaiting_input', 60_000);
  const [pending] = await client.approvals.list({ runId });
  return pending;
}

describe('human approval of tool calls', { timeout: 180_000 }, () => {
  it('waits in awaiting_input with its job set aside, then runs the tool once on approval', async () => {
    const before = executions.length;
    const { runId } = await enqueue('tool:transfer:{"amount":5}');
    const pending = await waiting(runId);
    expect(pending).toMatchObject({
      runId,
      toolName: 'transfer',
      input: { amount: 5 },
      tenantId: 'bank',
      agentName: 'banker',
    });
    expect(pending.deadline!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    // The job holds the session (retry) but no worker: due at the deadline.
    const [job] = await db.query(
      `select j.state, j.start_after from agentpg_boss.job j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
      [runId],
    );
    expect(job.state).toBe('retry');
    expect(executions.length).toBe(before);

    const res = await client.approvals.decide(runId, {
      toolUseId: pending.toolUseId,
      decision: 'approve',
      decidedBy: 'alice',
    });
    expect(res.runState).toBe('queued');
    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: sent 5');
    expect(executions.slice(before)).toEqual([{ tool: 'transfer', input: { amount: 5 }, attempt: 1 }]);
    const [call] = await db.query(
      `select approval, decided_by, decided_at, state from agentpg_tool_calls where run_id = $1`,
      [runId],
    );
    expect(call).toMatchObject({ approval: 'approved', decided_by: 'alice', state: 'succeeded' });
    expect(call.decided_at).toBeInstanceOf(Date);
    assertValidTranscript(await sessionTranscript(db, runId));
    await expect(
      client.approvals.decide(runId, { toolUseId: pending.toolUseId, decision: 'deny', decidedBy: 'bob' }),
    ).rejects.toBeInstanceOf(AlreadyDecidedError);
  });

  it("a decision wakes the fetch even when the enqueue wake came after the run's first NOTIFY", async () => {
    const { runId } = await enqueue('tool:transfer:{"amount":6}');
    const pending = await waiting(runId);
    const worker = (client as unknown as { rt: { runs: { localWorker: any } } }).rt.runs.localWorker;
    // What an enqueue leaves behind when its `queued` NOTIFY overtook its wakeFor(): an entry the
    // insert's NOTIFY can no longer remove.
    worker.wakeFor(runId, 'banker');
    const wakes: unknown[] = [];
    const wake = worker.wake.bind(worker);
    worker.wake = (agentName?: string) => {
      wakes.push(agentName);
      wake(agentName);
    };
    try {
      await client.approvals.decide(runId, { toolUseId: pending.toolUseId, decision: 'approve', decidedBy: 'al' });
      const run = await client.runs.result(runId, { timeoutMs: 60_000 });
      expect(run.text).toBe('result: sent 6');
      // The decision's `queued` woke a fetch of the agent's key (not the backstop poll).
      expect(wakes).toContain('banker');
    } finally {
      worker.wake = wake;
    }
  });

  it('answers the model with an is_error tool_result on denial, never running the tool', async () => {
    const before = executions.length;
    const { runId } = await enqueue('tool:transfer:{"amount":500}');
    const pending = await waiting(runId);
    await client.approvals.decide(runId, {
      toolUseId: pending.toolUseId,
      decision: 'deny',
      message: 'too much',
      decidedBy: 'bob',
    });
    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: ERR tool call denied: too much');
    expect(executions.length).toBe(before);
    const [call] = await db.query(
      `select approval, decided_by, state, is_error from agentpg_tool_calls where run_id = $1`,
      [runId],
    );
    expect(call).toMatchObject({ approval: 'denied', decided_by: 'bob', state: 'failed', is_error: true });
    assertValidTranscript(await sessionTranscript(db, runId));
  });

  it('runs the tool with the edited input when approved with one', async () => {
    const { runId } = await enqueue('tool:transfer:{"amount":900}');
    const pending = await waiting(runId);
    await client.approvals.decide(runId, {
      toolUseId: pending.toolUseId,
      decision: 'approve',
      input: { amount: 90 },
      decidedBy: 'carol',
    });
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: sent 90');
    const [call] = await db.query(`select input, approved_input from agentpg_tool_calls where run_id = $1`, [runId]);
    expect(call).toEqual({ input: { amount: 900 }, approved_input: { amount: 90 } });
  });

  it('asks only when needsApproval(input) says so', async () => {
    const small = await enqueue('tool:maybe:{"amount":5}');
    expect((await client.runs.result(small.runId, { timeoutMs: 60_000 })).text).toBe('result: maybe sent 5');
    const big = await enqueue('tool:maybe:{"amount":500}');
    const pending = await waiting(big.runId);
    // Decided with plain SQL, as psql or another language would.
    await db.query(`select agentpg_decide_tool_call($1, $2, 'approve', 'dave')`, [big.runId, pending.toolUseId]);
    expect((await client.runs.result(big.runId, { timeoutMs: 60_000 })).text).toBe('result: maybe sent 500');
  });

  it('denies with "timed out" when nobody decides before the deadline', async () => {
    const { runId } = await enqueue('tool:quick:{}');
    const run = await client.runs.result(runId, { timeoutMs: 60_000 });
    expect(run.text).toBe('result: ERR tool call denied: timed out');
    const [call] = await db.query(
      `select approval, decided_by, decision_message from agentpg_tool_calls where run_id = $1`,
      [runId],
    );
    expect(call).toEqual({ approval: 'denied', decided_by: 'agentpg', decision_message: 'timed out' });
  });

  it('cancels a waiting run, answering its open tool call', async () => {
    const { runId } = await enqueue('tool:transfer:{"amount":1}');
    await waiting(runId);
    // A waiting run never ends directly (its open tool call would stay unanswered).
    await expect(
      db.query(`update agentpg_runs set state = 'cancelled', finalized_at = now() where id = $1`, [runId]),
    ).rejects.toThrow(/illegal run state transition awaiting_input -> cancelled/);
    await client.runs.cancel(runId);
    const run = await client.runs.wait(runId, { timeoutMs: 60_000 });
    expect(run.state).toBe('cancelled');
    assertValidTranscript(await sessionTranscript(db, runId));
    expect(await client.approvals.list({ runId })).toEqual([]);
  });

  it('holds no worker slot while waiting (runConcurrency 1), and holds back its session', async () => {
    const a = await enqueue('tool:transfer:{"amount":11}');
    const b = await enqueue('tool:transfer:{"amount":12}');
    const pa = await waiting(a.runId);
    const pb = await waiting(b.runId);
    // A later run of a's session waits behind it, like the next turn of a thread.
    const behind = await enqueue('hello again', a.sessionId);
    const other = await enqueue('hello');
    expect((await client.runs.result(other.runId, { timeoutMs: 60_000 })).text).toBe('plain: hello');
    expect((await client.runs.get(behind.runId))!.state).toBe('queued');
    await client.approvals.decide(a.runId, { toolUseId: pa.toolUseId, decision: 'approve', decidedBy: 'erin' });
    await client.approvals.decide(b.runId, { toolUseId: pb.toolUseId, decision: 'approve', decidedBy: 'erin' });
    expect((await client.runs.result(a.runId, { timeoutMs: 60_000 })).text).toBe('result: sent 11');
    expect((await client.runs.result(b.runId, { timeoutMs: 60_000 })).text).toBe('result: sent 12');
    expect((await client.runs.result(behind.runId, { timeoutMs: 60_000 })).text).toBe('plain: hello again');
    assertValidTranscript(await sessionTranscript(db, behind.runId));
  });

  it('resumes on a decision recorded by another instance', async () => {
    const b = await startClient(db, fake, config);
    try {
      const { runId } = await enqueue('tool:transfer:{"amount":3}');
      const pending = await waiting(runId);
      const listed = await b.approvals.list({ tenantId: 'bank', agentName: 'banker' });
      expect(listed.map((p) => p.toolUseId)).toEqual([pending.toolUseId]);
      await b.approvals.decide(runId, { toolUseId: pending.toolUseId, decision: 'approve', decidedBy: 'frank' });
      expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: sent 3');
    } finally {
      await b.stop();
    }
  });

  it('lists and decides over HTTP: GET /v1/approvals, POST /v1/runs/:id/decisions', async () => {
    const metrics = { render: async () => '', contentType: 'text/plain' };
    const app = createHttpApp(client, metrics, { isDraining: () => false, db: db.pool });
    const { runId } = await enqueue('tool:transfer:{"amount":42}');
    await waiting(runId);
    const listed = await app.request(`/v1/approvals?tenantId=bank&agentName=banker&runId=${runId}`);
    expect(listed.status).toBe(200);
    const { data } = (await listed.json()) as { data: Array<{ toolUseId: string; input: unknown }> };
    expect(data).toHaveLength(1);
    expect(data[0].input).toEqual({ amount: 42 });
    const post = (body: unknown) =>
      app.request(`/v1/runs/${runId}/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ toolUseId: data[0].toolUseId, decision: 'maybe', decidedBy: 'x' })).status).toBe(400);
    expect((await post({ toolUseId: 'toolu_nope', decision: 'approve', decidedBy: 'x' })).status).toBe(404);
    const ok = await post({ toolUseId: data[0].toolUseId, decision: 'deny', message: 'no', decidedBy: 'gina' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ runState: 'queued' });
    expect((await post({ toolUseId: data[0].toolUseId, decision: 'approve', decidedBy: 'x' })).status).toBe(409);
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('result: ERR tool call denied: no');
  });
});
