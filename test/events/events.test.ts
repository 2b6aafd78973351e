import { describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/client.js';
import type { EventListener } from '../../src/events/listener.js';
import type { AgentPGEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/logger.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
test.beforeAll(async ({ db: testDb }) => {
  db = testDb;
});

const makeClient = (instanceId: string) =>
  new AgentPG({
    databaseUrl: db.url,
    instanceId,
    migrate: false,
    anthropic: { baseURL: 'http://127.0.0.1:9', apiKey: 'test' },
    agents: [{ name: 'echo', model: 'claude-test' }],
    heartbeatIntervalMs: 1000,
    instanceTtlMs: 10_000,
    cleanupIntervalMs: 60_000,
    poolSize: 2,
    logger: createLogger({ level: 'silent' }),
  });

const listenerOf = (client: AgentPG) => (client as unknown as { rt: { events: EventListener } }).rt.events;

describe('client.events', () => {
  it('delivers instance and ownership events from SQL triggers, with ids and states only', async () => {
    const a = makeClient('ev-a');
    await a.start();
    const seen: AgentPGEvent[] = [];
    try {
      const offs = await Promise.all([
        a.events.subscribe('instance_registered', (e) => seen.push(e)),
        a.events.subscribe('instance_deregistered', (e) => seen.push(e)),
        a.events.subscribe('ownership_changed', (e) => seen.push(e)),
      ]);
      const b = makeClient('ev-b');
      await b.start();
      await b.stop();
      await db.query(
        `insert into agentpg_long_running_agents (id, kind, config) values ('lr-ev', 'watcher', '{"secret":"x"}')`,
      );
      await db.query(
        `update agentpg_long_running_agents set owner_instance_id = 'ev-a', epoch = epoch + 1 where id = 'lr-ev'`,
      );
      await db.query(`update agentpg_long_running_agents set last_activity_at = now() where id = 'lr-ev'`); // not an ownership change
      await db.query(`update agentpg_long_running_agents set owner_instance_id = null where id = 'lr-ev'`);

      await until(() => seen.filter((e) => e.type === 'ownership_changed').length >= 2);
      expect(seen.filter((e) => e.type !== 'ownership_changed')).toEqual([
        { type: 'instance_registered', instanceId: 'ev-b', hostname: expect.any(String), pid: process.pid },
        { type: 'instance_deregistered', instanceId: 'ev-b', hostname: expect.any(String) },
      ]);
      expect(seen.filter((e) => e.type === 'ownership_changed')).toEqual([
        {
          type: 'ownership_changed',
          agentId: 'lr-ev',
          kind: 'watcher',
          ownerInstanceId: 'ev-a',
          previousOwnerInstanceId: null,
          epoch: 1,
        },
        {
          type: 'ownership_changed',
          agentId: 'lr-ev',
          kind: 'watcher',
          ownerInstanceId: null,
          previousOwnerInstanceId: 'ev-a',
          epoch: 1,
        },
      ]);
      expect(JSON.stringify(seen)).not.toContain('secret');

      // Unsubscribed handlers hear nothing more.
      for (const off of offs) await off();
      const count = seen.length;
      const c = makeClient('ev-c');
      await c.start();
      await c.stop();
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.length).toBe(count);
    } finally {
      await a.stop();
    }
  });

  it('rejects an unknown event type with a clear error', async () => {
    const a = makeClient('ev-d');
    await a.start();
    try {
      await expect(a.events.subscribe('leader_changed' as never, () => {})).rejects.toThrow(
        /unknown event type "leader_changed"/,
      );
    } finally {
      await a.stop();
    }
  });

  it('reconnects after pg_terminate_backend, re-delivers recent run changes, signals resync, listens again', async () => {
    const a = makeClient('ev-e');
    const errors: Error[] = [];
    (a.config as { onError?: (e: Error) => void }).onError = (e) => errors.push(e);
    await a.start();
    const runEvents: AgentPGEvent[] = [];
    const resyncs: AgentPGEvent[] = [];
    const registered: AgentPGEvent[] = [];
    try {
      await a.events.subscribe('run_state_changed', (e) => runEvents.push(e));
      await a.events.subscribe('resync', (e) => resyncs.push(e));
      await a.events.subscribe('instance_registered', (e) => registered.push(e));
      const [session] = await db.query(
        `insert into agentpg_sessions (tenant_id, identifier) values ('t1', 'u1') returning id`,
      );
      const [run] = await db.query(
        `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt) values ($1, 'queued', 'echo', 't1', 'hi') returning id`,
        [session.id],
      );

      await db.query(`update agentpg_runs set state = 'running', started_at = now() where id = $1`, [run.id]);
      const listener = listenerOf(a);
      const pid = listener.backendPid;
      expect(pid).toEqual(expect.any(Number));
      const [target] = await db.query(`select pid, application_name from pg_stat_activity where pid = $1`, [pid]);
      expect(target.application_name).toBe('agentpg-listener');
      await db.query(`select pg_terminate_backend($1)`, [pid]);
      // (listener.test.ts covers changes made while the connection is down, deterministically.)

      const resync = await until(() => resyncs[0]);
      expect(resync).toMatchObject({ type: 'resync', reconnects: 1, runsCaughtUp: true });
      expect((resync as { caughtUpRuns: number }).caughtUpRuns).toBeGreaterThanOrEqual(1);
      // Re-read from the table (the last change was within the catch-up window), flagged as such.
      expect(runEvents).toContainEqual(
        expect.objectContaining({ runId: run.id, state: 'running', catchUp: true, sessionId: session.id }),
      );
      expect(listener.backendPid).not.toBe(pid);
      expect(errors.some((e) => /terminat/i.test(e.message))).toBe(true);

      // The new connection LISTENs again: live events flow.
      const b = makeClient('ev-f');
      await b.start();
      await b.stop();
      await until(() => registered.find((e) => e.type === 'instance_registered' && e.instanceId === 'ev-f'));
    } finally {
      await a.stop();
    }
  });
});
