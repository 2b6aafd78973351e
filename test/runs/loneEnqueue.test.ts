import pg from 'pg';
import { describe, expect } from 'vitest';
import { NotFoundError, type AgentPG } from '../../src/index.js';
import { EnqueueBatcher } from '../../src/runs/enqueueBatcher.js';
import type { Runtime } from '../../src/runtime.js';
import { testTwoInstances as test } from './fixtures.js';
import { untilValue } from '../helpers/until.js';

// A lone enqueue (the batcher idle, the plain path) goes in ONE autocommit statement
// (src/runs/sql/enqueueLoneRun.ts) instead of a batch transaction, with the same lock, order,
// idempotency and errors. Counted: the statements the client's enqueue sends to the pool.

/** The client's pool, counting each statement sent through it or through a client it lent. */
function countingPool(pool: pg.Pool): { pool: pg.Pool; statements: string[] } {
  const statements: string[] = [];
  const counted = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'query')
          return (q: string | { text: string }, ...rest: unknown[]) => {
            statements.push(typeof q === 'string' ? q : q.text);
            return (t as unknown as pg.Pool).query(q as string, ...(rest as [unknown[]]));
          };
        if (prop === 'connect') return async () => counted(await (t as unknown as pg.Pool).connect());
        const v = Reflect.get(t, prop, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  return { pool: counted(pool), statements };
}

/** Routes the client's enqueues through a batcher over a counting pool; returns its statements. */
function countEnqueueStatements(client: AgentPG): string[] {
  const rt = (client as unknown as { rt: Runtime }).rt;
  const { pool, statements } = countingPool(rt.pool);
  rt.runs.enqueueBatcher = new EnqueueBatcher({ pool, boss: rt.boss });
  return statements;
}

describe('lone enqueue', () => {
  test('enqueues a lone call in one statement: run and job, keys, onNewRun (run()), errors typed as before', async ({
    db,
    fake,
    a,
  }) => {
    fake.reset();
    const statements = countEnqueueStatements(a);
    const sessionId = await a.agent('chat').newSession({ tenantId: 't-lone', identifier: 'lone' });

    const runId = await a.agent('chat').enqueue(sessionId, 'alone', {
      metadata: { m: 1 },
      context: { user: 'u1' },
      batch: false,
    });
    expect(statements).toHaveLength(1);
    const [run] = await db.query(
      `select job_id, metadata, context, batch_mode, tenant_id from agentpg_runs where id = $1`,
      [runId],
    );
    expect(run).toMatchObject({ metadata: { m: 1 }, context: { user: 'u1' }, batch_mode: false, tenant_id: 't-lone' });
    // Its job as runJobInsert makes it: the session's FIFO key, the tenant's group, the route key.
    const [job] = await db.query(`select run_id, singleton_key from test_run_jobs where job_id = $1`, [run.job_id]);
    expect(job).toEqual({ run_id: runId, singleton_key: sessionId });

    // The same job row as a batch's (pg-boss's insert): two calls in one tick share a batch.
    statements.length = 0;
    const other = await a.agent('chat').newSession({ tenantId: 't-lone', identifier: 'batched' });
    const otherToo = await a.agent('chat').newSession({ tenantId: 't-lone', identifier: 'batched-too' });
    const [batched] = await Promise.all([
      a.agent('chat').enqueue(other, 'in a batch'),
      a.agent('chat').enqueue(otherToo, 'in a batch too'),
    ]);
    expect(statements[0]).toBe('BEGIN');
    // As inserted (test_run_jobs): the run may already be done and its job deleted.
    const jobRow = (id: string) =>
      db.query(
        `select j->>'name' as name, j->'priority' as priority, j->>'group_id' as group_id,
                j->'expire_seconds' as expire_seconds, j->'deletion_seconds' as deletion_seconds,
                (j->>'keep_until')::timestamptz - (j->>'start_after')::timestamptz as kept,
                j->'retry_limit' as retry_limit, j->'retry_delay' as retry_delay, j->'retry_backoff' as retry_backoff,
                j->'retry_delay_max' as retry_delay_max, j->>'policy' as policy, j->'dead_letter' as dead_letter,
                j->'heartbeat_seconds' as heartbeat_seconds, j->'blocked' as blocked, j->'blocking' as blocking,
                j->'pending_dependencies' as pending_dependencies, j->'trace_context' as trace_context,
                j->'singleton_on' as singleton_on, j->'group_tier' as group_tier, (j->'data') - 'runId' as data
           from (select job as j from test_run_jobs where run_id = $1) t`,
        [id],
      );
    expect(await jobRow(runId)).toEqual(await jobRow(batched));

    expect((await a.runs.wait(runId, { timeoutMs: 30_000 })).state).toBe('completed');
    await a.runs.wait(batched, { timeoutMs: 30_000 });

    // An idempotency key: the first call creates, the second gets that run, one job in all.
    statements.length = 0;
    const keyed = await a.agent('chat').enqueue(sessionId, 'pay', { idempotencyKey: 'k-1' });
    const again = await a.agent('chat').enqueue(sessionId, 'pay', { idempotencyKey: 'k-1' });
    expect(again).toBe(keyed);
    expect(statements).toHaveLength(2);
    await a.runs.wait(keyed, { timeoutMs: 30_000 });
    expect(
      await db.query(`select 1 from agentpg_runs where session_id = $1 and idempotency_key = 'k-1'`, [sessionId]),
    ).toHaveLength(1);
    expect(await db.query(`select 1 from test_run_jobs where run_id = $1`, [keyed])).toHaveLength(1);

    // run(): its watch is registered through onNewRun before the statement.
    statements.length = 0;
    expect((await a.agent('chat').run(sessionId, 'wait for me', { timeoutMs: 30_000 })).text).toBe('ok');
    expect(statements).toHaveLength(1);

    // A missing session and a prompt the database rejects fail as in a batch, nothing stored.
    statements.length = 0;
    await expect(a.agent('chat').enqueue('00000000-0000-4000-8000-000000000000', 'nobody')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const nul = a.agent('chat').enqueue(sessionId, 'nul \u0000 byte');
    await expect(nul).rejects.toThrow();
    await expect(nul).rejects.not.toBeInstanceOf(NotFoundError);
    expect(statements).toHaveLength(2);
    expect(await db.query(`select 1 from agentpg_runs where session_id = $1`, [sessionId])).toHaveLength(3);
  });

  test('retries a lone call whose session had a later-started enqueue commit while it waited for the lock', async ({
    db,
    fake,
    a,
  }) => {
    fake.reset();
    const statements = countEnqueueStatements(a);
    const sessionId = await a.agent('chat').newSession({ tenantId: 't-lone', identifier: 'too-early' });
    // Hold the session's enqueue lock, so the lone call's statement starts, then waits.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtextextended('agentpg_session:' || $1::text, 0))`, [
        sessionId,
      ]);
      const lone = a.agent('chat').enqueue(sessionId, 'started first');
      await untilValue(
        () =>
          db.query(`select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory'`),
        (rows) => rows.length >= 1,
      );
      // An enqueue that started later commits first (the SQL function in a caller's transaction
      // takes no lock): the lone call, ordered by its start time, would now come before it.
      const [{ id: later }] = await db.query(`select agentpg_enqueue_run($1, 'chat', 'committed first') as id`, [
        sessionId,
      ]);
      await holder.query('commit');
      const first = await lone;
      // Tried, found too early, tried again in a transaction of its own: after the later one.
      expect(statements).toHaveLength(2);
      const rows = await db.query(`select id from agentpg_runs where session_id = $1 order by created_at, id`, [
        sessionId,
      ]);
      expect(rows.map((r) => r.id)).toEqual([later, first]);
      const runs = await Promise.all([later, first].map((id) => a.runs.wait(id, { timeoutMs: 30_000 })));
      expect(runs[0].finalizedAt!.getTime()).toBeLessThanOrEqual(runs[1].startedAt!.getTime());
    } finally {
      await holder.end();
    }
  });
});
