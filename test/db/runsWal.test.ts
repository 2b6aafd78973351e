import { describe, expect, it } from 'vitest';
import { routeKeyOf } from '../../src/runs/routing.js';
import { fetchAndClaimRuns } from '../../src/runs/sql/fetchAndClaimRuns.js';
import { runsChangedSince } from '../../src/events/sql/runsChangedSince.js';
import { defineAgent } from '../../src/index.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL, startClient } from '../runs/helpers.js';

// The WAL-saving shape of agentpg_runs / agentpg_messages (src/db/schema/runs.ts): no foreign keys
// on messages and tool calls (triggers cascade deletes), a claim that is a HOT update, no BEFORE
// UPDATE row trigger, event catch-up through the two partial indexes.
describe('agentpg_runs and agentpg_messages without per-row WAL extras', () => {
  let db: TestDatabase;
  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
  });

  async function newRun(sessionId: string, prompt = 'p'): Promise<string> {
    const [r] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'a', 't', $2) returning id`,
      [sessionId, prompt],
    );
    return r.id;
  }

  /**
   * A run of agent `a` with its job, enqueued by the SQL function. The runs queue and the agent
   * exist once a client has started (and stopped: it must not run them itself). Returns the
   * queue's job table.
   */
  let queueTable: string | null = null;
  async function enqueueRun(sessionId: string): Promise<string> {
    if (!queueTable) {
      const fake = await startFakeAnthropic();
      try {
        await (await startClient(db, fake, { agents: [defineAgent({ name: 'a', model: MODEL })] })).stop();
      } finally {
        await fake.close();
      }
      const [q] = await db.query(`select table_name from agentpg_boss.queue where name = 'agentpg_runs'`);
      queueTable = q.table_name as string;
    }
    await db.query(`select agentpg_enqueue_run($1, 'a', 'p')`, [sessionId]);
    return queueTable;
  }

  /** The worker's fetch-and-claim of agent `a`'s runs, in the caller's transaction. */
  async function claim(client: Parameters<typeof fetchAndClaimRuns>[0], table: string, limit: number) {
    const jobs = await fetchAndClaimRuns(client, {
      table,
      routeKey: routeKeyOf('a'),
      limit,
      groupLimit: null,
      agentNames: ['a'],
      instanceId: 'i1',
    });
    return jobs.flatMap((j) => (j.run ? [j.run] : []));
  }

  async function newSession(): Promise<string> {
    const [s] = await db.query(
      `insert into agentpg_sessions (tenant_id, identifier) values ('t', gen_random_uuid()::text) returning id`,
    );
    return s.id;
  }

  it('deleting a run deletes its messages and tool calls, and only those', async () => {
    const session = await newSession();
    const [gone, kept] = [await newRun(session), await newRun(session)];
    for (const run of [gone, kept]) {
      const [m] = await db.query(
        `insert into agentpg_messages (session_id, run_id, role, content) values ($1, $2, 'assistant', '[]') returning id`,
        [session, run],
      );
      await db.query(
        `insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input) values ($1, $2, 'u1', 'x', '{}')`,
        [run, m.id],
      );
    }
    await db.query(`delete from agentpg_runs where id = $1`, [gone]);
    expect(await db.query(`select run_id from agentpg_messages where session_id = $1`, [session])).toEqual([
      { run_id: kept },
    ]);
    expect(
      await db.query(`select run_id from agentpg_tool_calls where run_id = any($1::uuid[])`, [[gone, kept]]),
    ).toEqual([{ run_id: kept }]);
  });

  it('deleting a session deletes its runs, their messages and tool calls, and its messages of no run', async () => {
    const session = await newSession();
    const other = await newSession();
    const run = await newRun(session);
    const otherRun = await newRun(other);
    const [m] = await db.query(
      `insert into agentpg_messages (session_id, run_id, role, content) values ($1, $2, 'user', '[]') returning id`,
      [session, run],
    );
    await db.query(
      `insert into agentpg_messages (session_id, run_id, role, content) values ($1, null, 'user', '[]'), ($2, $3, 'user', '[]')`,
      [session, other, otherRun],
    );
    await db.query(
      `insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input) values ($1, $2, 'u1', 'x', '{}')`,
      [run, m.id],
    );
    await db.query(`delete from agentpg_sessions where id = $1`, [session]);
    expect(await db.query(`select id from agentpg_runs where session_id = $1`, [session])).toEqual([]);
    expect(await db.query(`select id from agentpg_messages where session_id = $1`, [session])).toEqual([]);
    expect(await db.query(`select id from agentpg_tool_calls where run_id = $1`, [run])).toEqual([]);
    expect(await db.query(`select run_id from agentpg_messages where session_id = $1`, [other])).toEqual([
      { run_id: otherRun },
    ]);
  });

  it('has no BEFORE UPDATE row trigger on agentpg_runs (each one makes every UPDATE WAL-log a row lock)', async () => {
    // pg_trigger.tgtype bits: 1 row, 2 before, 16 update.
    const rows = await db.query(
      `select tgname from pg_trigger where tgrelid = 'agentpg_runs'::regclass and tgtype & 19 = 19`,
    );
    expect(rows).toEqual([]);
  });

  it('the claim is a HOT update: it adds no index entries', async () => {
    const table = await enqueueRun(await newSession());
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      const [claimed] = await claim(client, table, 1);
      expect(claimed.state).toBe('running');
      const { rows } = await client.query(
        `select n_tup_upd, n_tup_hot_upd from pg_stat_xact_user_tables where relname = 'agentpg_runs'`,
      );
      expect(rows[0]).toEqual({ n_tup_upd: '1', n_tup_hot_upd: '1' });
      await client.query('commit');
    } finally {
      client.release();
    }
  });

  it('a fetch batch of claims in one transaction stays HOT (fillfactor leaves room on each page)', async () => {
    // 40 sessions: a session's runs start one at a time.
    let table = '';
    for (let i = 0; i < 40; i++) table = await enqueueRun(await newSession());
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      expect(await claim(client, table, 40)).toHaveLength(40);
      const { rows } = await client.query(
        `select n_tup_upd, n_tup_hot_upd from pg_stat_xact_user_tables where relname = 'agentpg_runs'`,
      );
      // With full pages (fillfactor 100) most of these would move to another page: not HOT.
      // (The counts may include this backend's earlier, not yet flushed, HOT claim.)
      expect(Number(rows[0].n_tup_upd)).toBeGreaterThanOrEqual(40);
      expect(rows[0].n_tup_hot_upd).toBe(rows[0].n_tup_upd);
      await client.query('commit');
    } finally {
      client.release();
    }
  });

  it("the runs queue's job table is created analyzed and with room for the fetch's update", async () => {
    const fake = await startFakeAnthropic();
    const jobTable = async () =>
      (
        await db.query(
          `select c.relname, c.reloptions, c.reltuples from pg_class c
             join agentpg_boss.queue q on q.table_name = c.relname
            where q.name = 'agentpg_runs' and c.relnamespace = 'agentpg_boss'::regnamespace`,
        )
      )[0];
    const agents = [defineAgent({ name: 'a', model: MODEL })];
    try {
      const first = await startClient(db, fake, { agents });
      const table = await jobTable();
      await first.stop();
      expect(table.reloptions).toContain('fillfactor=50');
      expect(table.reltuples).toBeGreaterThanOrEqual(0); // -1: never analyzed
      // A queue table from before (no fillfactor) gets it at the next start.
      await db.query(`alter table agentpg_boss."${table.relname}" reset (fillfactor)`);
      expect((await jobTable()).reloptions).toBeNull();
      const second = await startClient(db, fake, { agents });
      await second.stop();
      expect((await jobTable()).reloptions).toContain('fillfactor=50');
    } finally {
      await fake.close();
    }
  });

  it('catch-up finds the unfinished and finished runs changed since a time, and no others', async () => {
    const session = await newSession();
    const old = await newRun(session, 'old');
    await db.query(
      `update agentpg_runs set state_changed_at = now() - interval '1 hour', created_at = now() - interval '1 hour' where id = $1`,
      [old],
    );
    const oldFinished = await newRun(session, 'old finished');
    await db.query(
      `update agentpg_runs set state = 'cancelled', finalized_at = now() - interval '1 hour' where id = $1`,
      [oldFinished],
    );
    const since = new Date(Date.now() - 60_000);
    const queued = await newRun(session, 'queued');
    const running = await newRun(session, 'running');
    await db.query(
      `update agentpg_runs set state = 'running', started_at = now(), state_changed_at = now() where id = $1`,
      [running],
    );
    const cancelled = await newRun(session, 'cancelled');
    await db.query(`update agentpg_runs set state = 'cancelled', finalized_at = now() where id = $1`, [cancelled]);
    const rows = await runsChangedSince(db.pool, since, 100);
    const mine = rows.filter((r) => r.session_id === session);
    expect(new Map(mine.map((r) => [r.id, r.state]))).toEqual(
      new Map([
        [queued, 'queued'],
        [running, 'running'],
        [cancelled, 'cancelled'],
      ]),
    );
  });
});
