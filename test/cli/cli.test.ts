import { describe, expect } from 'vitest';
import { cliProcess } from '../helpers/cli.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

/** Runs the real CLI entry point as a child process, like an operator would. */
const cli = (db: TestDatabase, ...args: string[]) => cliProcess(db.url, ...args);

describe('the agentpg CLI against a real database', () => {
  let runId: string;
  test.beforeAll(async ({ db }) => {
    await db.query(`insert into agentpg_instances (id, hostname, pid) values ('inst-1', 'host-a', 42)`);
    await db.query(`insert into agentpg_agents (name, model, tools) values ('chat', 'claude-x', '{}')`);
    await db.query(`insert into agentpg_instance_agents (instance_id, agent_name) values ('inst-1', 'chat')`);
    const [s] = await db.query(
      `insert into agentpg_sessions (tenant_id, identifier, agent_name) values ('t', 'u', 'chat') returning id`,
    );
    const [r] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'chat', 't', 'hello') returning id`,
      [s.id],
    );
    runId = r.id;
    await db.query(
      `insert into agentpg_messages (session_id, run_id, role, content) values ($1, $2, 'user', '[{"type":"text","text":"hello"}]')`,
      [s.id, runId],
    );
  });

  test('migrate is idempotent from the command line', async ({ db }) => {
    const res = await cli(db, 'migrate', '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ migrated: true });
  });

  test('status --json reports instances with heartbeat age, queue depth and runs by state', async ({ db }) => {
    const res = await cli(db, 'status', '--json');
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout);
    expect(status.instances).toHaveLength(1);
    expect(status.instances[0]).toMatchObject({ id: 'inst-1', hostname: 'host-a' });
    expect(Number(status.instances[0].heartbeat_age_s)).toBeGreaterThanOrEqual(0);
    expect(status.queueDepth).toBe(1);
    expect(status.runsByState).toEqual([{ state: 'queued', runs: 1 }]);
  });

  test('status prints a plain table for people', async ({ db }) => {
    const res = await cli(db, 'status');
    expect(res.stdout).toMatch(/^Instances\nid\s+hostname/m);
    expect(res.stdout).toMatch(/inst-1\s+host-a/);
    expect(res.stdout).toMatch(/Queue depth: 1/);
  });

  test('runs list and runs show', async ({ db }) => {
    const list = JSON.parse((await cli(db, 'runs', 'list', '--json')).stdout);
    expect(list.map((r: { id: string }) => r.id)).toEqual([runId]);
    const show = JSON.parse((await cli(db, 'runs', 'show', runId, '--json')).stdout);
    expect(show.run.prompt).toBe('hello');
    expect(show.messages).toHaveLength(1);
    const missing = await cli(db, 'runs', 'show', '00000000-0000-0000-0000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/run not found/);
  });

  test('agents list shows how many instances can run each agent', async ({ db }) => {
    const rows = JSON.parse((await cli(db, 'agents', 'list', '--json')).stdout);
    expect(rows).toEqual([expect.objectContaining({ name: 'chat', instances: 1 })]);
  });

  test('unknown commands exit 2 with the usage', async ({ db }) => {
    const res = await cli(db, 'frobnicate');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/usage: agentpg/);
  });
});

describe('agentpg long-running from the command line', () => {
  // A database of its own (otherDb): the first describe's rows would show here.

  test('start, list and stop change the desired state in the database', async ({ otherDb: db }) => {
    const started = await cli(
      db,
      'long-running',
      'start',
      '--kind',
      'watcher',
      '--id',
      'w-1',
      '--config',
      '{"intervalMs":1000}',
      '--json',
    );
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ id: 'w-1', kind: 'watcher', active: true });
    const list = JSON.parse((await cli(db, 'long-running', 'list', '--json')).stdout);
    expect(list).toEqual([expect.objectContaining({ id: 'w-1', active: true, owner: null })]);
    const stopped = await cli(db, 'long-running', 'stop', 'w-1', '--json');
    expect(JSON.parse(stopped.stdout)).toMatchObject({ id: 'w-1', active: false });
    const [row] = await db.query(`select active, config from agentpg_long_running_agents where id = 'w-1'`);
    expect(row).toEqual({ active: false, config: { intervalMs: 1000 } });
    expect((await cli(db, 'long-running', 'stop', 'nope')).code).toBe(1);
  });

  test('restarting without --config keeps the stored config', async ({ otherDb: db }) => {
    await cli(db, 'long-running', 'start', '--kind', 'watcher', '--id', 'w-2', '--config', '{"intervalMs":2000}');
    await cli(db, 'long-running', 'stop', 'w-2');
    const restarted = await cli(db, 'long-running', 'start', '--kind', 'watcher', '--id', 'w-2', '--json');
    expect(restarted.code).toBe(0);
    const [row] = await db.query(`select active, config from agentpg_long_running_agents where id = 'w-2'`);
    expect(row).toEqual({ active: true, config: { intervalMs: 2000 } });
  }, 180_000); // three CLI processes on a loaded two-core box

  test('start --inactive creates an agent without running it', async ({ otherDb: db }) => {
    const created = await cli(db, 'long-running', 'start', '--kind', 'watcher', '--id', 'w-3', '--inactive', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'w-3', active: false });
    const started = await cli(db, 'long-running', 'start', '--kind', 'watcher', '--id', 'w-3', '--json');
    expect(JSON.parse(started.stdout)).toMatchObject({ id: 'w-3', active: true });
  });

  test('validates like client.longRunning: a config that is not a plain object is refused, nothing stored', async ({
    otherDb: db,
  }) => {
    const bad = await cli(db, 'long-running', 'start', '--kind', 'watcher', '--id', 'w-bad', '--config', '[1,2]');
    expect(bad.code).toBe(1);
    expect(await db.query(`select id from agentpg_long_running_agents where id = 'w-bad'`)).toEqual([]);
  });
});
