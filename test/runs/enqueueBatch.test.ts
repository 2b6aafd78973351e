import pg from 'pg';
import { describe, expect } from 'vitest';
import { NotFoundError, type AgentPG } from '../../src/index.js';
import { testTwoInstances as test } from './fixtures.js';
import { untilValue } from '../helpers/until.js';

// Group commit of enqueues (src/runs/enqueueBatcher.ts): concurrent calls share transactions, and
// each call still behaves as if it had its own.

async function newSessions(client: AgentPG, n: number, tag: string): Promise<string[]> {
  return await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.agent('chat').newSession({ tenantId: `t-${tag}`, identifier: `${tag}-${i}` }),
    ),
  );
}

describe('enqueue group commit', () => {
  test('stores 200 concurrent enqueues over 20 sessions in fewer transactions, each with its job, executed in return order', async ({
    db,
    fake,
    a,
  }) => {
    fake.reset();
    const sessions = await newSessions(a, 20, 'many');
    const returned = new Map<string, string[]>(sessions.map((s) => [s, []]));
    const ids = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const sessionId = sessions[i % 20];
        const id = await a.agent('chat').enqueue(sessionId, `prompt ${i}`);
        returned.get(sessionId)!.push(id);
        return id;
      }),
    );
    expect(new Set(ids).size).toBe(200);
    const runs = await Promise.all(ids.map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
    expect(runs.every((r) => r.state === 'completed')).toBe(true);

    const rows = await db.query<{ id: string; session_id: string; job_session: string | null }>(
      `select r.id, r.session_id, j.singleton_key as job_session
         from agentpg_runs r left join test_run_jobs j on j.job_id = r.job_id and j.run_id = r.id
        where r.session_id = any($1::uuid[])
        order by r.session_id, r.started_at`,
      [sessions],
    );
    expect(rows).toHaveLength(200);
    // Every run had its job, keyed by its session (the FIFO key), and no run had two.
    expect(rows.every((r) => r.job_session === r.session_id)).toBe(true);
    const [{ jobs }] = await db.query(
      `select count(*)::int as jobs from test_run_jobs where run_id = any($1::uuid[])`,
      [ids],
    );
    expect(jobs).toBe(200);
    // Each session's runs started in the order their enqueue calls returned.
    for (const s of sessions) expect(rows.filter((r) => r.session_id === s).map((r) => r.id)).toEqual(returned.get(s));
    // A batch's runs share its transaction's start time (created_at = now()): fewer distinct start
    // times than runs means calls shared transactions. At most one run per session per batch, so
    // a session's 10 runs need 10 batches, and no two runs of a session share a start time.
    const starts = await db.query<{ batches: number; per_session_max: number }>(
      `select count(distinct created_at)::int as batches,
              (select max(n) from (select count(*)::int as n from agentpg_runs
                                    where session_id = any($1::uuid[]) group by session_id, created_at) x) as per_session_max
         from agentpg_runs where session_id = any($1::uuid[])`,
      [sessions],
    );
    expect(starts[0].batches).toBeGreaterThanOrEqual(10);
    expect(starts[0].batches).toBeLessThan(100);
    expect(starts[0].per_session_max).toBe(1);
  });

  test('fails only the bad calls among concurrent valid ones (unknown session, prompt the database rejects)', async ({
    db,
    fake,
    a,
  }) => {
    fake.reset();
    const sessions = await newSessions(a, 8, 'isolation');
    const unknown = '00000000-0000-4000-8000-000000000000';
    const calls = [
      ...sessions.map((s, i) => a.agent('chat').enqueue(s, `fine ${i}`)),
      a.agent('chat').enqueue(unknown, 'nobody'),
      // Postgres text cannot hold NUL: this call's INSERT fails, and with it the whole second batch
      // (sessions 0 and 1 are taken in the first), which it shares with the run() call below.
      a.agent('chat').enqueue(sessions[0], 'nul \u0000 byte', { idempotencyKey: 'nul' }),
      a.agent('chat').run(sessions[1], 'run through the batch', { timeoutMs: 30_000 }),
    ];
    const settled = await Promise.allSettled(calls);
    const [valid, [missing, nul, ran]] = [settled.slice(0, 8), settled.slice(8)];
    expect(valid.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(missing.status).toBe('rejected');
    expect((missing as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
    expect(nul.status).toBe('rejected');
    expect((nul as PromiseRejectedResult).reason).not.toBeInstanceOf(NotFoundError);
    expect(ran.status).toBe('fulfilled');
    expect((ran as PromiseFulfilledResult<{ text: string }>).value.text).toBe('ok');
    const ids = valid.map((r) => (r as PromiseFulfilledResult<string>).value);
    const runs = await Promise.all(ids.map((id) => a.runs.wait(id, { timeoutMs: 30_000 })));
    expect(runs.every((r) => r.state === 'completed')).toBe(true);
    // Nothing of the failed calls was stored: 8 + 1 runs, one job each.
    const stored = await db.query(
      `select r.id from agentpg_runs r join test_run_jobs j on j.job_id = r.job_id where r.session_id = any($1::uuid[])`,
      [sessions],
    );
    expect(stored).toHaveLength(9);
  });

  test('never deadlocks two clients whose batches name the same sessions in opposite orders', async ({
    db,
    fake,
    a,
    b,
  }) => {
    fake.reset();
    const sessions = await newSessions(a, 20, 'two-clients');
    const deadlocks = async () =>
      (await db.query(`select deadlocks::int as n from pg_stat_database where datname = current_database()`))[0]
        .n as number;
    const before = await deadlocks();
    // Hold one session's enqueue lock, so both clients' batches lock part of their sessions and
    // then wait: locking in the order of each batch (client a s0..s19, client b s19..s0) would
    // then deadlock when it is released; locking in sorted order cannot.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtextextended('agentpg_session:' || $1::text, 0))`, [
        sessions[10],
      ]);
      const calls = [
        ...sessions.map((s, i) => a.agent('chat').enqueue(s, `a ${i}`)),
        ...[...sessions].reverse().map((s, i) => b.agent('chat').enqueue(s, `b ${i}`)),
      ];
      await untilValue(
        () =>
          db.query(`select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory'`),
        (rows) => rows.length >= 2,
      );
      await holder.query('commit');
      const ids = await Promise.all(calls);
      const runs = await Promise.all(ids.map((id) => a.runs.wait(id, { timeoutMs: 60_000 })));
      expect(runs.every((r) => r.state === 'completed')).toBe(true);
    } finally {
      await holder.end();
    }
    // A deadlock reaches pg_stat_database when its backend reports its stats (at most every second).
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deadlocks()).toBe(before);
  });

  test('gives concurrent enqueues with one idempotency key one run and one job, within a client and across clients', async ({
    db,
    fake,
    a,
    b,
  }) => {
    fake.reset();
    const [sessionId, other] = await newSessions(a, 2, 'idem');
    const results = await Promise.all([
      a.agent('chat').enqueue(sessionId, 'charge', { idempotencyKey: 'pay-1' }),
      a.agent('chat').enqueue(sessionId, 'charge', { idempotencyKey: 'pay-1' }),
      b.agent('chat').enqueue(sessionId, 'charge', { idempotencyKey: 'pay-1' }),
      a.agent('chat').enqueue(sessionId.toUpperCase(), 'charge', { idempotencyKey: 'pay-1' }),
      // Same key on another session, and keyless calls, in the same batches: their own runs.
      a.agent('chat').enqueue(other, 'charge', { idempotencyKey: 'pay-1' }),
      a.agent('chat').enqueue(other, 'no key'),
    ]);
    expect(new Set(results.slice(0, 4)).size).toBe(1);
    expect(new Set(results).size).toBe(3);
    await Promise.all(results.map((id) => a.runs.wait(id, { timeoutMs: 30_000 })));
    const jobs = await db.query(`select job_id from test_run_jobs where singleton_key = $1`, [sessionId]);
    expect(jobs).toHaveLength(1);
    const runs = await db.query(`select id from agentpg_runs where session_id = $1`, [sessionId]);
    expect(runs).toHaveLength(1);
  });
});
