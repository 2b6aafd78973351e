import { describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/client.js';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
test.beforeAll(async ({ db: testDb }) => {
  db = testDb;
});

function makeClient(instanceId: string, extra: Partial<ConstructorParameters<typeof AgentPG>[0]> = {}) {
  return new AgentPG({
    databaseUrl: db.url,
    instanceId,
    migrate: false,
    anthropic: { baseURL: 'http://127.0.0.1:9', apiKey: 'test' },
    agents: [
      { name: 'writer', model: 'claude-test', tools: ['search'] },
      { name: 'reader', model: 'claude-test' },
    ],
    tools: [{ name: 'search', description: 'searches', inputSchema: { type: 'object' }, execute: () => 'x' }],
    heartbeatIntervalMs: 200,
    instanceTtlMs: 2000,
    cleanupIntervalMs: 1000,
    poolSize: 3,
    logger: createLogger({ level: 'silent' }),
    ...extra,
  });
}

describe('instance registration', () => {
  it('registers the row, definitions and links on start, and removes them on stop', async () => {
    const client = makeClient('inst-a', { metadata: { zone: 'z1' }, hostname: 'host-a' });
    await client.start();
    try {
      const [row] = await db.query(`select * from agentpg_instances where id = 'inst-a'`);
      expect(row).toMatchObject({
        hostname: 'host-a',
        pid: process.pid,
        version: expect.any(String),
        metadata: { zone: 'z1' },
      });
      const agents = await db.query(
        `select agent_name from agentpg_instance_agents where instance_id = 'inst-a' order by 1`,
      );
      expect(agents.map((r) => r.agent_name)).toEqual(['reader', 'writer']);
      const tools = await db.query(`select tool_name from agentpg_instance_tools where instance_id = 'inst-a'`);
      expect(tools.map((r) => r.tool_name)).toEqual(['search']);
      const [def] = await db.query(`select model, tools from agentpg_agents where name = 'writer'`);
      expect(def).toEqual({ model: 'claude-test', tools: ['search'] });
      const [tool] = await db.query(`select input_schema from agentpg_tools where name = 'search'`);
      expect(tool.input_schema).toEqual({ type: 'object' });

      const health = await client.health();
      expect(health).toMatchObject({ instanceId: 'inst-a', running: true, databaseReachable: true, inFlightRuns: 0 });

      // The heartbeat moves last_heartbeat_at forward.
      const before = row.last_heartbeat_at as Date;
      await until(async () => {
        const [r] = await db.query(`select last_heartbeat_at from agentpg_instances where id = 'inst-a'`);
        return r.last_heartbeat_at > before;
      });
    } finally {
      await client.stop();
    }
    expect(await db.query(`select 1 from agentpg_instances where id = 'inst-a'`)).toHaveLength(0);
    expect(await db.query(`select 1 from agentpg_instance_agents where instance_id = 'inst-a'`)).toHaveLength(0);
    expect(await db.query(`select 1 from agentpg_instance_tools where instance_id = 'inst-a'`)).toHaveLength(0);
    // Definitions outlive the instance.
    expect(await db.query(`select 1 from agentpg_agents where name = 'writer'`)).toHaveLength(1);
    expect((await client.health()).running).toBe(false);
  });

  it('registers again, links included, when a cleanup removed its row', async () => {
    const client = makeClient('inst-b');
    await client.start();
    try {
      await db.query(`delete from agentpg_instances where id = 'inst-b'`);
      await until(
        async () => (await db.query(`select 1 from agentpg_instance_agents where instance_id = 'inst-b'`)).length === 2,
      );
      expect(await db.query(`select 1 from agentpg_instances where id = 'inst-b'`)).toHaveLength(1);
    } finally {
      await client.stop();
    }
  });

  it('fails start with DatabaseUnavailableError, without the password, when the database is unreachable', async () => {
    const client = new AgentPG({
      databaseUrl: 'postgres://someone:s3cret-pw@127.0.0.1:1/nowhere',
      connectAttempts: 2,
      anthropic: { apiKey: 'test' },
    });
    const err = await client.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/after 2 attempts/);
    expect((err as Error).message).not.toContain('s3cret-pw');
    expect(client.isRunning).toBe(false);
  });
});

describe('cleanup passes', () => {
  it('fails a run stuck past stuckRunTimeoutMs with "run timed out", deletes stale instances, frees their agents', async () => {
    // A stale instance that owns a long-running agent and never heartbeats again.
    await db.query(`insert into agentpg_instances (id, last_heartbeat_at) values ('ghost', now() - interval '1 hour')`);
    await db.query(
      `insert into agentpg_long_running_agents (id, kind, owner_instance_id, epoch) values ('lr-1', 'watcher', 'ghost', 3)`,
    );
    const [session] = await db.query(
      `insert into agentpg_sessions (tenant_id, identifier) values ('t1', 'u1') returning id`,
    );
    const [stuck] = await db.query(
      `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt, started_at, state_changed_at, instance_id)
       values ($1, 'running', 'writer', 't1', 'hi', now() - interval '10 minutes', now() - interval '10 minutes', 'ghost') returning id`,
      [session.id],
    );
    // Started long ago, but resumed (back to `running`) just now after a wait: not stuck.
    const [resumed] = await db.query(
      `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt, started_at, state_changed_at)
       values ($1, 'running', 'writer', 't1', 'hi', now() - interval '10 minutes', now()) returning id`,
      [session.id],
    );
    const [fresh] = await db.query(
      `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt, started_at)
       values ($1, 'running', 'writer', 't1', 'hi', now()) returning id`,
      [session.id],
    );
    const passes: unknown[] = [];
    const client = makeClient('inst-c', { stuckRunTimeoutMs: 60_000, onCleanupPass: (s) => passes.push(s) });
    await client.start();
    try {
      const [run] = await until(async () => {
        const rows = await db.query(`select * from agentpg_runs where id = $1 and state = 'failed'`, [stuck.id]);
        return rows.length ? rows : null;
      });
      expect(run).toMatchObject({ error_message: 'run timed out', error_type: 'timeout' });
      expect(run.finalized_at).toBeInstanceOf(Date);
      // A run younger than the timeout is left alone.
      const [other] = await db.query(`select state from agentpg_runs where id = $1`, [fresh.id]);
      expect(other.state).toBe('running');
      const [back] = await db.query(`select state from agentpg_runs where id = $1`, [resumed.id]);
      expect(back.state).toBe('running');
      await until(async () => (await db.query(`select 1 from agentpg_instances where id = 'ghost'`)).length === 0);
      await until(async () => {
        const [lr] = await db.query(
          `select owner_instance_id, epoch from agentpg_long_running_agents where id = 'lr-1'`,
        );
        return lr.owner_instance_id === null && Number(lr.epoch) === 3;
      });
      // The pass that did it is recorded, by this instance, and reported through onCleanupPass.
      await until(async () => passes.length > 0);
      const recorded = await db.query(
        `select instance_id, stale_instances, stuck_runs, freed_agents, finished_at, slot, job_id, started_at
           from agentpg_cleanup_passes where stuck_runs > 0`,
      );
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toMatchObject({ instance_id: 'inst-c', stuck_runs: 1, stale_instances: 1, freed_agents: 1 });
      expect(recorded[0].slot).toBeInstanceOf(Date);
      // The slot is the start of the 1 s throttle window the pass was offered in (database time).
      const lag = recorded[0].started_at.getTime() - recorded[0].slot.getTime();
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(30_000);
      expect(recorded[0].job_id).toEqual(expect.any(String));

      // Repeating a pass changes nothing twice.
      const again = await client.runCleanupPass();
      expect(again).toMatchObject({ staleInstances: 0, stuckRuns: 0, releasedRuns: 0, freedAgents: 0, error: null });
    } finally {
      await client.stop();
    }
  });
});
