import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * agentpg_pending_approvals (migration pending_approvals_active_runs): the calls waiting for a
 * decision, found through the unfinished runs, so a table of finished runs' tool calls is never
 * scanned (the soak benchmark found the whole-table read) and a finished run's undecided call is
 * not listed.
 */
describe('agentpg_pending_approvals', () => {
  let db: TestDatabase;
  let c: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`insert into agentpg_sessions (id, tenant_id, identifier) values
      ('00000000-0000-0000-0000-000000000001', 't', 'waits')`);
    // 20,000 finished runs with one finished tool call each: what a table holds after a while.
    // Replica role: no state-change NOTIFY per inserted row (rows that never changed state).
    await c.query(`set session_replication_role = replica`);
    await c.query(`insert into agentpg_runs (id, session_id, state, agent_name, tenant_id, prompt, started_at, finalized_at)
      select md5('r' || i)::uuid, '00000000-0000-0000-0000-000000000001', 'completed', 'a', 't', 'p', now(), now()
        from generate_series(1, 20000) i`);
    await c.query(`insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input, state, finished_at)
      select md5('r' || i)::uuid, gen_random_uuid(), 'toolu_' || i, 'search', '{}', 'succeeded', now()
        from generate_series(1, 20000) i`);
    await c.query(`reset session_replication_role`);
    // A run waiting for an approval, and a cancelled one whose call was never decided.
    await c.query(`insert into agentpg_runs (id, session_id, state, agent_name, tenant_id, prompt, started_at, finalized_at) values
      ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001', 'awaiting_input', 'a', 't', 'p', now(), null),
      ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000001', 'cancelled', 'a', 't', 'p', now(), now())`);
    await c.query(`insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input, approval) values
      ('00000000-0000-0000-0000-00000000000a', gen_random_uuid(), 'toolu_wait', 'refund', '{"amount": 5}', 'pending'),
      ('00000000-0000-0000-0000-00000000000b', gen_random_uuid(), 'toolu_gone', 'refund', '{"amount": 9}', 'pending')`);
    await c.query(`analyze agentpg_runs, agentpg_tool_calls`);
  }, 60_000);

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('lists the waiting run’s call, not the finished run’s undecided one', async () => {
    const rows = await db.query<{ run_id: string; tool_use_id: string }>(
      `select run_id, tool_use_id from agentpg_pending_approvals`,
    );
    expect(rows).toEqual([{ run_id: '00000000-0000-0000-0000-00000000000a', tool_use_id: 'toolu_wait' }]);
  });

  it('reads the unfinished runs’ calls, never the whole tool-call table', async () => {
    const [{ 'QUERY PLAN': plan }] = await db.query<{ 'QUERY PLAN': string[] }>(
      `explain (format json) select * from agentpg_pending_approvals`,
    );
    const text = JSON.stringify(plan);
    expect(text).toContain('agentpg_runs_active_idx');
    expect(text).not.toMatch(/Seq Scan[^}]*agentpg_tool_calls/);
  });
});
