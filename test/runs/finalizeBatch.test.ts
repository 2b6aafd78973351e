import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defineAgent, type AgentPG, type RunStepHook } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';
import { untilValue } from '../helpers/until.js';

// Group commit of run ends (src/runs/finalizer.ts). Deterministic batching: a "pacer" run answers
// at once and its finalize transaction is held on a row lock the test takes on the pacer's run, so
// every run answering after it queues behind that transaction and must share the next one.

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let listener: pg.Client;
let hook: RunStepHook = () => {};
const errors: Error[] = [];
/** NOTIFYs in arrival order: stream events and state changes, by run. */
const notified: Array<{ channel: string; runId: string; state?: string }> = [];

const promptOf = (body: any): string => body.messages[0].content[0].text;

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  fake.setResponder((req) => {
    const prompt = promptOf(req.body);
    if (prompt.startsWith('pacer')) return { text: 'first', latencyMs: 0 };
    // The trigger below refuses this answer: the transaction that stores it fails.
    if (prompt.startsWith('poison')) return { text: 'poisoned answer', latencyMs: 800 };
    return { text: `answer to ${prompt}`, latencyMs: 800 };
  });
  // Output agentpg stores safely (NUL is replaced) can no longer fail a statement, so a trigger
  // refuses this one message (a permanent error class: the run fails once instead of retrying).
  await db.query(`create function test_refuse_poison() returns trigger language plpgsql as $$
    begin
      if new.content::text like '%poisoned answer%' then
        raise exception 'test: refused poisoned answer' using errcode = '22023';
      end if;
      return new;
    end $$`);
  await db.query(`create trigger test_refuse_poison before insert on agentpg_messages
    for each row execute function test_refuse_poison()`);
  client = await startClient({
    agents: [defineAgent({ name: 'chat', model: MODEL, maxTokens: 64 })],
    runConcurrency: 200,
    onRunStep: (step, info) => hook(step, info),
    onError: (err) => errors.push(err),
  });
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => {
    const p = JSON.parse(n.payload!);
    notified.push(
      n.channel === 'agentpg_run_stream'
        ? { channel: 'stream', runId: p.r }
        : { channel: 'state', runId: p.run_id, state: p.state },
    );
  });
  await listener.query('listen agentpg_run_stream');
  await listener.query('listen agentpg_run_state_changed');
});
afterAll(async () => {
  await listener?.end();
});

/**
 * Enqueues the pacer and `prompts` (each in its own session); the pacer's row is locked right
 * after its claim (step `claimed`, before its model call), so its finalize blocks. Returns the run
 * ids and a release that waits until every answer was sent, gives the executions a moment to
 * queue their finalize, and commits the lock.
 */
async function withHeldPacer(
  tag: string,
  prompts: string[],
  onClaimed: (runId: string, prompt: string) => Promise<void> = async () => {},
) {
  const agent = client.agent('chat');
  const locker = await db.pool.connect();
  const promptByRun = new Map<string, string>();
  let locked: Promise<void> | null = null;
  hook = async (step, info) => {
    const prompt = promptByRun.get(info.runId);
    if (step !== 'claimed' || prompt === undefined) return;
    if (prompt.startsWith('pacer')) {
      locked = (async () => {
        await locker.query('begin');
        await locker.query('select 1 from agentpg_runs where id = $1 for update', [info.runId]);
      })();
      await locked;
    }
    await onClaimed(info.runId, prompt);
  };
  const enqueue = async (prompt: string) => {
    const sessionId = await agent.newSession({ tenantId: 't', identifier: `${tag}-${prompt}` });
    const runId = await agent.enqueue(sessionId, prompt);
    promptByRun.set(runId, prompt);
    return runId;
  };
  const sentBefore = fake.stats.completed;
  const pacerId = await enqueue(`pacer-${tag}`);
  await untilValue(async () => locked !== null, Boolean);
  const ids = await Promise.all(prompts.map(enqueue));
  const release = async () => {
    await untilValue(
      async () => fake.stats.completed - sentBefore,
      (n) => n >= prompts.length + 1,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await locker.query('commit');
    locker.release();
  };
  return { pacerId, ids, release };
}

describe('group commit of run ends', () => {
  it('runs finishing together share one finalize transaction; a lost claim fails only its own run', async () => {
    const finalized: string[] = [];
    const prompts = Array.from({ length: 100 }, (_, i) => `q${i}`);
    const { pacerId, ids, release } = await withHeldPacer('a', prompts, async (runId, prompt) => {
      // Another execution takes this run over (as after a lapsed heartbeat): attempts moves on.
      if (prompt === 'q42') await db.query('update agentpg_runs set attempts = attempts + 1 where id = $1', [runId]);
    });
    const before = hook;
    hook = async (step, info) => {
      await before(step, info);
      if (step === 'finalized') finalized.push(info.runId);
    };
    const lostId = ids[42];
    const others = ids.filter((id) => id !== lostId);
    await release();
    await untilValue(
      () =>
        db.query(`select count(*)::int as n from agentpg_runs where id = any($1) and state = 'completed'`, [others]),
      (r) => r[0].n === 99,
    );
    await untilValue(
      async () => finalized.length,
      (n) => n >= 100,
    );

    // All 99 ended by the one transaction that followed the pacer's: the rows share their xmin.
    const [{ txs }] = await db.query(
      `select count(distinct xmin::text)::int as txs from agentpg_runs where id = any($1)`,
      [others],
    );
    expect(txs).toBeLessThanOrEqual(2);
    const [pacer] = await db.query(`select state, xmin::text from agentpg_runs where id = $1`, [pacerId]);
    expect(pacer.state).toBe('completed');
    const answers = await db.query(
      `select run_id, content from agentpg_messages where run_id = any($1) and role = 'assistant'`,
      [others],
    );
    expect(answers).toHaveLength(99);
    // Their jobs went with them (deleted in that transaction).
    const jobs = await db.query(
      `select state from agentpg_boss.job where id in (select job_id from agentpg_runs where id = any($1))`,
      [others],
    );
    expect(jobs).toEqual([]);

    // The run whose claim was lost: nothing of its end was written, its job is left alone.
    const [lost] = await db.query(`select state, attempts from agentpg_runs where id = $1`, [lostId]);
    expect(lost).toEqual({ state: 'running', attempts: 2 });
    const lostMessages = await db.query(`select role from agentpg_messages where run_id = $1`, [lostId]);
    expect(lostMessages.map((m) => m.role)).toEqual(['user']);
    const [lostJob] = await db.query(
      `select j.state from agentpg_boss.job j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
      [lostId],
    );
    expect(lostJob.state).toBe('active');
    expect(finalized).not.toContain(lostId);
    expect(notified.filter((n) => n.runId === lostId && (n.channel === 'stream' || n.state === 'completed'))).toEqual(
      [],
    );

    // Each run's last stream events arrive before its final state (sent by the same transaction).
    for (const id of others) {
      const mine = notified.filter((n) => n.runId === id);
      const end = mine.findIndex((n) => n.state === 'completed');
      expect(end).toBeGreaterThan(0);
      expect(mine.filter((n) => n.channel === 'stream').length).toBeGreaterThan(0);
      expect(mine.slice(end + 1).filter((n) => n.channel === 'stream')).toEqual([]);
    }
  }, 60_000);

  it('a batch that fails is retried run by run: only the run that cannot be stored fails', async () => {
    const prompts = ['r1', 'r2', 'r3', 'r4', 'r5', 'poison'];
    const { ids, release } = await withHeldPacer('b', prompts);
    const good = ids.slice(0, 5);
    await release();
    await untilValue(
      () => db.query(`select count(*)::int as n from agentpg_runs where id = any($1) and state = 'completed'`, [good]),
      (r) => r[0].n === 5,
    );
    // One transaction each: the shared one failed as a whole and was not reused.
    const [{ txs }] = await db.query(
      `select count(distinct xmin::text)::int as txs from agentpg_runs where id = any($1)`,
      [good],
    );
    expect(txs).toBe(5);
    // A permanent storage error: the run fails once (no retry loop), typed.
    const [poison] = await untilValue(
      () => db.query(`select state, error_type from agentpg_runs where id = $1`, [ids[5]]),
      (r) => r[0].state === 'failed',
    );
    expect(poison.error_type).toBe('storage_error');
    const stored = await db.query(
      `select count(*)::int as n from agentpg_messages where run_id = $1 and role = 'assistant'`,
      [ids[5]],
    );
    expect(stored[0].n).toBe(0);
  }, 60_000);
});
