import { execFileSync } from 'node:child_process';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAgent, NotFoundError, ValidationError, type AgentPG } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { MODEL, recordRunJobs, startClient } from './helpers.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let callerPool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  await recordRunJobs(db);
  fake = await startFakeAnthropic();
  client = await startClient(db, fake, { agents: [defineAgent({ name: 'chat', model: MODEL })] });
  // The application's own pool: its transactions are the caller's, not agentpg's.
  callerPool = new pg.Pool({ connectionString: db.url, max: 4 });
  await callerPool.query(`create table app_orders (id serial primary key, run_id uuid, note text)`);
});
afterAll(async () => {
  await callerPool?.end();
  await client?.stop();
  await fake?.close();
  await db?.drop();
});

async function runCount(sessionId: string): Promise<number> {
  const [{ n }] = await db.query(`select count(*)::int as n from agentpg_runs where session_id = $1`, [sessionId]);
  return n;
}
async function jobCount(sessionId: string): Promise<number> {
  const [{ n }] = await db.query(`select count(*)::int as n from test_run_jobs where singleton_key = $1`, [sessionId]);
  return n;
}

describe('enqueue inside the caller’s transaction', () => {
  it('a rolled-back pg transaction leaves no run and no job; nothing is visible before COMMIT', async () => {
    const sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'rollback' });
    const tx = await callerPool.connect();
    try {
      await tx.query('begin');
      const runId = await client.agent('chat').enqueue(sessionId, 'hello', { db: tx });
      await tx.query(`insert into app_orders (run_id, note) values ($1, 'rolled back')`, [runId]);
      // Not committed: other connections see nothing, so no worker can have started it.
      expect(await runCount(sessionId)).toBe(0);
      await tx.query('rollback');
    } finally {
      tx.release();
    }
    expect(await runCount(sessionId)).toBe(0);
    expect(await jobCount(sessionId)).toBe(0);
    expect(await db.query(`select * from app_orders where note = 'rolled back'`)).toHaveLength(0);
  });

  it('a committed pg transaction: the run and the app row exist together and the run completes', async () => {
    fake.reset();
    fake.enqueue({ text: 'order confirmed' });
    const sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'commit' });
    const tx = await callerPool.connect();
    let runId: string;
    try {
      await tx.query('begin');
      runId = await client.agent('chat').enqueue(sessionId, 'confirm the order', { db: tx });
      await tx.query(`insert into app_orders (run_id, note) values ($1, 'committed')`, [runId]);
      await tx.query('commit');
    } finally {
      tx.release();
    }
    const run = await client.runs.wait(runId, { timeoutMs: 20_000 });
    expect(run.state).toBe('completed');
    expect(run.responseText).toBe('order confirmed');
    expect(await jobCount(sessionId)).toBe(1);
    expect(await db.query(`select * from app_orders where run_id = $1`, [runId])).toHaveLength(1);
  });

  it('session creation and enqueue in one drizzle transaction; a throw inside rolls both back', async () => {
    fake.reset();
    fake.enqueue({ text: 'via drizzle' });
    const orm = drizzle(callerPool);
    const agent = client.agent('chat');
    let kept = '';
    await orm.transaction(async (tx) => {
      const sessionId = await agent.newSession({ tenantId: 't', identifier: 'drizzle', db: tx });
      kept = await agent.enqueue(sessionId, 'hi from drizzle', { db: tx });
    });
    expect((await client.runs.wait(kept, { timeoutMs: 20_000 })).responseText).toBe('via drizzle');

    let lostSession = '';
    await expect(
      orm.transaction(async (tx) => {
        lostSession = await agent.newSession({ tenantId: 't', identifier: 'drizzle-lost', db: tx });
        await agent.enqueue(lostSession, 'never', { db: tx });
        throw new Error('the application changed its mind');
      }),
    ).rejects.toThrow('changed its mind');
    expect(await db.query(`select 1 from agentpg_sessions where id = $1`, [lostSession])).toHaveLength(0);
    expect(await runCount(lostSession)).toBe(0);
    expect(await jobCount(lostSession)).toBe(0);
  });

  it('keeps per-session order across the three paths (group commit, caller transaction, SQL function)', async () => {
    fake.reset();
    fake.setResponder(() => ({ text: 'ok', latencyMs: 5 }));
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'order' });
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const prompt = `p${i}`;
      if (i % 3 === 0) ids.push(await agent.enqueue(sessionId, prompt));
      else if (i % 3 === 1) {
        const tx = await callerPool.connect();
        try {
          await tx.query('begin');
          ids.push(await agent.enqueue(sessionId, prompt, { db: tx }));
          await tx.query('commit');
        } finally {
          tx.release();
        }
      } else {
        const { rows } = await callerPool.query(`select agentpg_enqueue_run($1, 'chat', $2) as id`, [
          sessionId,
          prompt,
        ]);
        ids.push(rows[0].id);
      }
    }
    const runs = await Promise.all(ids.map((id) => client.runs.wait(id, { timeoutMs: 30_000 })));
    expect(runs.every((r) => r.state === 'completed')).toBe(true);
    const order = await db.query(`select prompt from agentpg_runs where session_id = $1 order by started_at`, [
      sessionId,
    ]);
    expect(order.map((r) => r.prompt)).toEqual(ids.map((_, i) => `p${i}`));
    // Never two at once: each run started after the previous one was finalized.
    const spans = await db.query(
      `select started_at, finalized_at from agentpg_runs where session_id = $1 order by started_at`,
      [sessionId],
    );
    for (let i = 1; i < spans.length; i++) expect(spans[i].started_at >= spans[i - 1].finalized_at).toBe(true);
  });

  it('the SQL function works from psql, honours idempotency keys and names what is wrong', async () => {
    fake.reset();
    fake.setResponder(() => ({ text: 'from psql' }));
    const sessionId = await client.agent('chat').newSession({ tenantId: 't', identifier: 'psql' });
    const psql = (sql: string) =>
      execFileSync('psql', [db.url, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8', stdio: 'pipe' }).trim();
    const first = psql(`select agentpg_enqueue_run('${sessionId}', 'chat', 'hello from psql', 'key-1')`);
    const again = psql(`select agentpg_enqueue_run('${sessionId}', 'chat', 'hello again', 'key-1')`);
    expect(again).toBe(first);
    expect((await client.runs.wait(first, { timeoutMs: 20_000 })).responseText).toBe('from psql');
    expect(await jobCount(sessionId)).toBe(1);
    expect(() => psql(`select agentpg_enqueue_run(gen_random_uuid(), 'chat', 'x')`)).toThrow(/session .* not found/);
    expect(() => psql(`select agentpg_enqueue_run('${sessionId}', 'nope', 'x')`)).toThrow(/no agent named nope/);
    expect(() => psql(`select agentpg_enqueue_run('${sessionId}', 'chat', '  ')`)).toThrow(/non-empty/);
  });

  it('rejects what it cannot use, typed, before touching the database', async () => {
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'bad' });
    await expect(agent.enqueue(sessionId, 'x', { db: {} as any })).rejects.toBeInstanceOf(ValidationError);
    await expect(agent.run(sessionId, 'x', { db: callerPool as any })).rejects.toBeInstanceOf(ValidationError);
    const tx = await callerPool.connect();
    try {
      await tx.query('begin');
      await expect(agent.enqueue('00000000-0000-4000-8000-000000000000', 'x', { db: tx })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await tx.query('rollback');
    } finally {
      tx.release();
    }
    expect(await runCount(sessionId)).toBe(0);
  });
});
