import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG, type RunStepName } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic, type FakeReply, type FakeRequest } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/until.js';
import { untilStartPassDone } from './helpers.js';
import { assertValidTranscript, MODEL, startClient } from '../runs/helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
const lookups: string[] = [];
const steps: Array<{ step: RunStepName; runId: string }> = [];
/** Per prompt, how many times the model was asked (the errored-then-retried case). */
const asked = new Map<string, number>();

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a word up.',
  inputSchema: z.object({ word: z.string() }),
  execute({ word }) {
    lookups.push(word);
    return `${word} means something`;
  },
});

/**
 * `lookup:<word>` asks for the tool, then answers with its result; `fail:<status>` answers that
 * error; `flaky` answers 529 the first time, then text; anything else is answered `echo: <prompt>`.
 */
function responder(req: FakeRequest): FakeReply {
  const first = req.body.messages[0];
  const prompt = typeof first.content === 'string' ? first.content : ((first.content[0] as any)?.text ?? '');
  asked.set(prompt, (asked.get(prompt) ?? 0) + 1);
  const last = req.body.messages.at(-1)!;
  const result = Array.isArray(last.content) ? (last.content as any[]).find((b) => b.type === 'tool_result') : null;
  if (result) return { text: `answer: ${result.content}`, usage: { input_tokens: 100, output_tokens: 10 } };
  const m = /^lookup:(\w+)$/.exec(prompt);
  if (m)
    return { toolUses: [{ name: 'lookup', input: { word: m[1] } }], usage: { input_tokens: 100, output_tokens: 10 } };
  const f = /^fail:(\d+)$/.exec(prompt);
  if (f) return { error: { status: Number(f[1]) } };
  if (prompt === 'flaky' && asked.get(prompt) === 1) return { error: { status: 529 } };
  return { text: `echo: ${prompt}`, usage: { input_tokens: 100, output_tokens: 10 } };
}

const agents = [
  // No cache breakpoints: the cost check below counts plain input and output tokens only.
  defineAgent({ name: 'batcher', model: MODEL, tools: ['lookup'], batch: true, cache: false }),
  defineAgent({ name: 'direct', model: MODEL }),
];

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic({ responder, batchProcessingDelayMs: 200 });
  client = await startClient(db, fake, {
    agents,
    tools: [lookup],
    // Passes are run by the test (runBatchPass) so it knows what each one did; the scheduled one
    // would only make them come sooner.
    batch: { pollIntervalMs: 3_600_000, maxTries: 2 },
    prices: { [MODEL]: { inputPerMTok: 1, outputPerMTok: 5 } },
    onRunStep: (step, info) => void steps.push({ step, runId: info.runId }),
  });
  // The scheduled poller offers one pass at start, then none for an hour: let it finish first.
  await untilStartPassDone(db);
}, 90_000);

afterAll(async () => {
  await client?.stop();
  await fake?.close();
  await db?.drop();
});

beforeEach(() => {
  fake.reset();
  fake.setResponder(responder);
});

async function stateOf(runId: string): Promise<string> {
  return (await client.runs.get(runId))!.state;
}

/** Runs poll passes until the runs are final (each pass: poll, store results, submit). */
async function passUntilFinal(runIds: string[]): Promise<void> {
  await until(
    async () => {
      await client.runBatchPass();
      const states = await Promise.all(runIds.map(stateOf));
      return states.every((s) => ['completed', 'failed', 'cancelled'].includes(s));
    },
    30_000,
    100,
  );
}

async function waitForBatchWait(runIds: string[]): Promise<void> {
  await until(async () => {
    const rows = await db.query(
      `select count(*)::int as n from agentpg_batch_requests q join agentpg_runs r on r.id = q.run_id
        where q.run_id = any($1::uuid[]) and q.state = 'pending' and r.state = 'awaiting_input'`,
      [runIds],
    );
    return rows[0].n === runIds.length;
  });
}

async function requestsOf(runId: string) {
  return db.query(
    `select state, submission_id is not null as submitted, result from agentpg_batch_requests
      where run_id = $1 order by turn, try`,
    [runId],
  );
}

describe('batch mode', () => {
  it('a pass with nothing to do takes no pass lock (no connection of its own); one with a pending request does', async () => {
    // Nothing pending, no open batch: the pass ends before opening its pass-lock connection.
    expect((await client.runBatchPass()).ran).toBe(false);
    const agent = client.agent('batcher');
    const runId = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'nothing-to-do' }), 'hi');
    await waitForBatchWait([runId]);
    expect((await client.runBatchPass()).ran).toBe(true);
    await passUntilFinal([runId]);
    expect(await stateOf(runId)).toBe('completed');
    expect((await client.runBatchPass()).ran).toBe(false);
  });

  it('runs a tool between two batched turns, never calling the Messages API directly, at half the price', async () => {
    const agent = client.agent('batcher');
    const session = await agent.newSession({ tenantId: 't', identifier: 'tool' });
    const runId = await agent.enqueue(session, 'lookup:apple');
    await waitForBatchWait([runId]);
    // Waiting for its result, the run holds no worker: its job is set aside in `retry`.
    const jobs = await db.query(
      `select j.state from agentpg_boss.job j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
      [runId],
    );
    expect(jobs[0].state).toBe('retry');
    await passUntilFinal([runId]);

    const run = (await client.runs.get(runId))!;
    expect(run.state).toBe('completed');
    expect(run.responseText).toBe('answer: apple means something');
    expect(lookups).toEqual(['apple']);
    expect(fake.stats.received).toBe(0);
    expect(fake.batches.stats.create).toBe(2);
    expect(steps.filter((s) => s.runId === runId && s.step === 'batch_requested')).toHaveLength(2);
    const messages = await client.sessions.messages(session);
    assertValidTranscript(messages);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    // 100 input tokens at $1/MTok + 10 output at $5/MTok = $0.00015, half in a batch.
    const costs = await db.query(
      `select cost_usd::float8 as c from agentpg_messages where run_id = $1 and role = 'assistant' order by seq`,
      [runId],
    );
    expect(costs.map((c) => c.c)).toEqual([0.000075, 0.000075]);
    const reqs = await db.query(`select state, turn, try from agentpg_batch_requests where run_id = $1 order by turn`, [
      runId,
    ]);
    expect(reqs).toEqual([
      { state: 'succeeded', turn: 0, try: 1 },
      { state: 'succeeded', turn: 1, try: 1 },
    ]);
  });

  it('gathers the pending calls of many runs into one batch', async () => {
    const agent = client.agent('batcher');
    const runIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await agent.newSession({ tenantId: 't', identifier: `many-${i}` });
      runIds.push(await agent.enqueue(s, `hello ${i}`));
    }
    await waitForBatchWait(runIds);
    await passUntilFinal(runIds);
    expect(fake.batches.stats.create).toBe(1);
    expect(fake.batches.batches[0].customIds).toHaveLength(6);
    for (const [i, id] of runIds.entries()) expect((await client.runs.get(id))!.responseText).toBe(`echo: hello ${i}`);
  });

  it('fails a run whose result errored for good (400), retries one that errored with a retryable type (529)', async () => {
    const agent = client.agent('batcher');
    const bad = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'bad' }), 'fail:400');
    const flaky = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'flaky' }), 'flaky');
    const overloaded = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'over' }), 'fail:529');
    await passUntilFinal([bad, flaky, overloaded]);

    const b = (await client.runs.get(bad))!;
    expect(b.state).toBe('failed');
    expect(b.errorType).toBe('invalid_request_error');
    const f = (await client.runs.get(flaky))!;
    expect(f.state).toBe('completed');
    expect(f.responseText).toBe('echo: flaky');
    // Overloaded every time: tried batch.maxTries (2) times, then failed with the API's type.
    const o = (await client.runs.get(overloaded))!;
    expect(o.state).toBe('failed');
    expect(o.errorType).toBe('overloaded_error');
    const rows = await db.query(
      `select run_id, count(*)::int as n from agentpg_batch_requests where run_id = any($1::uuid[]) group by run_id`,
      [[bad, flaky, overloaded]],
    );
    const tries = Object.fromEntries(rows.map((r) => [r.run_id, r.n]));
    expect(tries).toEqual({ [bad]: 1, [flaky]: 2, [overloaded]: 2 });
  });

  it('retries an expired request in a later batch', async () => {
    const agent = client.agent('batcher');
    let expireNext = true;
    fake.batches.outcome = () => (expireNext ? ((expireNext = false), 'expired') : undefined);
    const runId = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'exp' }), 'late');
    await passUntilFinal([runId]);
    expect((await client.runs.get(runId))!.responseText).toBe('echo: late');
    expect(fake.batches.stats.create).toBe(2);
  });

  it('takes the enqueue option over the agent default, both ways', async () => {
    const direct = client.agent('direct');
    const batched = await direct.enqueue(await direct.newSession({ tenantId: 't', identifier: 'opt1' }), 'via batch', {
      batch: true,
    });
    await passUntilFinal([batched]);
    expect(fake.stats.received).toBe(0);
    expect(fake.batches.stats.create).toBe(1);

    const batcher = client.agent('batcher');
    const res = await batcher.run(await batcher.newSession({ tenantId: 't', identifier: 'opt2' }), 'right away', {
      batch: false,
    });
    expect(res.text).toBe('echo: right away');
    expect(fake.stats.received).toBe(1);
    expect(fake.batches.stats.create).toBe(1);
    await expect(
      direct.enqueue(await direct.newSession({ tenantId: 't', identifier: 'opt3' }), 'x', { batch: 'yes' as any }),
    ).rejects.toThrow(/batch must be true or false/);
  });

  it('cancels a run waiting for its batch result', async () => {
    const agent = client.agent('batcher');
    const runId = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'cancel' }), 'never mind');
    await waitForBatchWait([runId]);
    await client.runs.cancel(runId);
    await until(async () => (await stateOf(runId)) === 'cancelled');
    // Its request was closed with the cancel (agentpg_request_cancel), and is never sent.
    expect(await requestsOf(runId)).toEqual([{ state: 'canceled', submitted: false, result: null }]);
    await client.runBatchPass();
    expect(fake.batches.stats.create).toBe(0);
  });

  it('cancels a run whose request is in a batch already: the result is never stored on it, the batch’s other run gets its own', async () => {
    const agent = client.agent('batcher');
    const cancelled = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'c-in' }), 'too late');
    const kept = await agent.enqueue(await agent.newSession({ tenantId: 't', identifier: 'c-kept' }), 'still wanted');
    await waitForBatchWait([cancelled, kept]);
    // The batch stays in progress at the API until the test lets it end.
    fake.batches.processingDelayMs = 3_600_000;
    try {
      await client.runBatchPass();
      expect(fake.batches.stats.create).toBe(1);
      expect(fake.batches.batches[0].customIds).toHaveLength(2);
      expect((await requestsOf(cancelled))[0]).toMatchObject({ state: 'submitted', submitted: true });

      await client.runs.cancel(cancelled);
      await until(async () => (await stateOf(cancelled)) === 'cancelled');
      expect(await requestsOf(cancelled)).toEqual([{ state: 'canceled', submitted: true, result: null }]);
    } finally {
      fake.batches.processingDelayMs = 200;
    }
    await passUntilFinal([kept]);
    expect((await client.runs.get(kept))!).toMatchObject({ state: 'completed', responseText: 'echo: still wanted' });
    // The batch ended with both results; the cancelled run's was dropped, not stored, not applied.
    const [sub] = await db.query(`select state from agentpg_batch_submissions where batch_id = $1`, [
      fake.batches.batches[0].id,
    ]);
    expect(sub.state).toBe('ended');
    expect(await requestsOf(cancelled)).toEqual([{ state: 'canceled', submitted: true, result: null }]);
    const run = (await client.runs.get(cancelled))!;
    expect(run).toMatchObject({ state: 'cancelled', inputTokens: 0, outputTokens: 0, responseText: null });
    const roles = await db.query(`select role from agentpg_messages where run_id = $1 order by seq`, [cancelled]);
    expect(roles.map((r) => r.role)).toEqual(['user']);
  });
});
