import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';

describe('the agentpg schema, read back from the catalog', () => {
  test('has every table of seed 000 plus messages, tool calls and long-running agents', async ({ db }) => {
    const rows = await db.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_name like 'agentpg\\_%' order by 1`,
    );
    const names = rows.map((r) => r.table_name);
    for (const t of [
      'agentpg_instances',
      'agentpg_sessions',
      'agentpg_runs',
      'agentpg_agents',
      'agentpg_tools',
      'agentpg_instance_agents',
      'agentpg_instance_tools',
      'agentpg_messages',
      'agentpg_tool_calls',
      'agentpg_long_running_agents',
    ]) {
      expect(names).toContain(t);
    }
    expect(names).not.toContain('agentpg_leader');
  });

  test('links instance_agents and instance_tools with ON DELETE CASCADE', async ({ db }) => {
    const rows = await db.query<{ table_name: string; delete_rule: string }>(`
      select tc.table_name, rc.delete_rule
      from information_schema.table_constraints tc
      join information_schema.referential_constraints rc on rc.constraint_name = tc.constraint_name
      where tc.table_name in ('agentpg_instance_agents', 'agentpg_instance_tools') and tc.constraint_type = 'FOREIGN KEY'`);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.delete_rule))).toEqual(new Set(['CASCADE']));
  });

  test('deleting an instance removes its agent and tool links, not the definitions', async ({ db }) => {
    await db.query(`insert into agentpg_instances (id, hostname, pid) values ('i1', 'h', 1)`);
    await db.query(`insert into agentpg_agents (name, model) values ('chat', 'claude-x')`);
    await db.query(`insert into agentpg_tools (name, description, input_schema) values ('weather', 'w', '{}')`);
    await db.query(`insert into agentpg_instance_agents (instance_id, agent_name) values ('i1', 'chat')`);
    await db.query(`insert into agentpg_instance_tools (instance_id, tool_name) values ('i1', 'weather')`);
    await db.query(`delete from agentpg_instances where id = 'i1'`);
    expect(await db.query(`select * from agentpg_instance_agents`)).toHaveLength(0);
    expect(await db.query(`select * from agentpg_instance_tools`)).toHaveLength(0);
    expect(await db.query(`select * from agentpg_agents where name = 'chat'`)).toHaveLength(1);
  });

  test('refuses unknown run states and terminal states without a finalized_at', async ({ db }) => {
    const [s] = await db.query(`insert into agentpg_sessions (tenant_id, identifier) values ('t', 'u') returning id`);
    await expect(
      db.query(
        `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, state, started_at) values ($1, 'chat', 't', 'p', 'exploded', now())`,
        [s.id],
      ),
    ).rejects.toThrow(/agentpg_runs_state_check/);
    await expect(
      db.query(
        `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, state, started_at) values ($1, 'chat', 't', 'p', 'completed', now())`,
        [s.id],
      ),
    ).rejects.toThrow(/agentpg_runs_finalized_check/);
    const [ok] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'chat', 't', 'p') returning state`,
      [s.id],
    );
    expect(ok.state).toBe('queued');
  });
});

describe('operator views', () => {
  // A database of its own (otherDb): the first describe's rows would show here.

  test('agentpg_stale_instances and agentpg_stuck_runs find what the cleanup job will act on', async ({
    otherDb: db,
  }) => {
    await db.query(
      `insert into agentpg_instances (id, last_heartbeat_at) values ('fresh', now()), ('stale', now() - interval '5 minutes')`,
    );
    const [s] = await db.query(`insert into agentpg_sessions (tenant_id, identifier) values ('t', 'u') returning id`);
    await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, state, started_at, instance_id)
       values ($1, 'a', 't', 'old', 'running', now() - interval '2 hours', 'stale'),
              ($1, 'a', 't', 'new', 'running', now(), 'fresh')`,
      [s.id],
    );
    const stale = await db.query(`select id, running_runs::int from agentpg_stale_instances`);
    expect(stale).toEqual([{ id: 'stale', running_runs: 1 }]);
    const stuck = await db.query(`select instance_id, instance_gone from agentpg_stuck_runs`);
    expect(stuck).toEqual([{ instance_id: 'stale', instance_gone: false }]);
    const summary = await db.query(`select state, runs::int from agentpg_run_summary`);
    expect(summary).toEqual([{ state: 'running', runs: 2 }]);
  });
});
