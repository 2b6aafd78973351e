import { describe, expect, it } from 'vitest';
import { ClientEvents } from '../../src/events/clientEvents.js';
import { EventListener } from '../../src/events/listener.js';
import type { AgentPGEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/logger.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import type { TcpProxy } from '../../src/testing/tcpProxy.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
let proxy: TcpProxy;
test.beforeAll(async ({ db: testDb, proxy: testProxy }) => {
  db = testDb;
  proxy = testProxy;
});

async function newRun(): Promise<string> {
  const [session] = await db.query(
    `insert into agentpg_sessions (tenant_id, identifier) values ('t1', 'u1') returning id`,
  );
  const [run] = await db.query(
    `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt) values ($1, 'queued', 'echo', 't1', 'hi') returning id`,
    [session.id],
  );
  return run.id;
}

describe('EventListener + ClientEvents', () => {
  it('while the database refuses connections: retries with backoff, then catches up on run changes made meanwhile', async () => {
    const errors: string[] = [];
    const listener = new EventListener(
      proxy.urlFor(db.url),
      createLogger({ level: 'silent' }),
      (e) => errors.push(String((e as Error).message)),
      {
        reconnectInitialDelayMs: 50,
        reconnectMaxDelayMs: 200,
      },
    );
    const events = new ClientEvents(listener, db.pool, (e) => errors.push(String(e)));
    await listener.start();
    const seen: AgentPGEvent[] = [];
    try {
      await events.subscribe('run_state_changed', (e) => seen.push(e));
      await events.subscribe('resync', (e) => seen.push(e));
      const runId = await newRun();

      proxy.refuse();
      const pid = listener.backendPid;
      await db.query(`select pg_terminate_backend($1)`, [pid]);
      await until(() => !listener.connected);
      // Several reconnect attempts fail while the "database" is down.
      await until(() => errors.filter((m) => /reconnect|ECONNRESET|terminated|Connection/i.test(m)).length >= 3);
      expect(listener.connected).toBe(false);

      // Changes made while nothing can listen.
      await db.query(`update agentpg_runs set state = 'running', started_at = now() where id = $1`, [runId]);
      await db.query(`update agentpg_runs set state = 'completed', finalized_at = now() where id = $1`, [runId]);

      proxy.restore();
      const resync = await until(() => seen.find((e) => e.type === 'resync'));
      expect(listener.connected).toBe(true);
      expect(listener.reconnects).toBe(1);
      // The run's current state was delivered before the resync signal, flagged as a catch-up.
      const idx = seen.indexOf(resync);
      expect(seen.slice(0, idx)).toContainEqual(
        expect.objectContaining({
          type: 'run_state_changed',
          runId,
          state: 'completed',
          catchUp: true,
          previousState: null,
        }),
      );
      expect(resync).toMatchObject({ runsCaughtUp: true, reconnects: 1 });
      expect((resync as { since: Date }).since).toBeInstanceOf(Date);
    } finally {
      proxy.restore();
      events.close();
      await listener.stop();
    }
  });

  it('notices a connection that silently stopped answering (probe timeout) and reconnects', async () => {
    const errors: string[] = [];
    const listener = new EventListener(
      proxy.urlFor(db.url),
      createLogger({ level: 'silent' }),
      (e) => errors.push(String((e as Error).message)),
      {
        probeIntervalMs: 100,
        probeTimeoutMs: 300,
        reconnectInitialDelayMs: 50,
      },
    );
    const events = new ClientEvents(listener, db.pool, () => {});
    await listener.start();
    const resyncs: AgentPGEvent[] = [];
    try {
      await events.subscribe('resync', (e) => resyncs.push(e));
      const pid = listener.backendPid;
      proxy.stall(); // the socket stays open, nothing gets through: no error, no 'end'
      await until(() => resyncs.length > 0);
      expect(errors.some((m) => /probe timed out/.test(m))).toBe(true);
      expect(listener.backendPid).not.toBe(pid);
      expect(listener.connected).toBe(true);
    } finally {
      events.close();
      await listener.stop();
    }
  });

  it('keeps a subscription made while the connection is down and LISTENs it on reconnect', async () => {
    const listener = new EventListener(proxy.urlFor(db.url), createLogger({ level: 'silent' }), () => {}, {
      reconnectInitialDelayMs: 50,
      reconnectMaxDelayMs: 100,
    });
    const events = new ClientEvents(listener, db.pool, () => {});
    await listener.start();
    const seen: AgentPGEvent[] = [];
    try {
      proxy.refuse();
      await db.query(`select pg_terminate_backend($1)`, [listener.backendPid]);
      await until(() => !listener.connected);
      await events.subscribe('instance_registered', (e) => seen.push(e)); // resolves without a connection
      proxy.restore();
      await until(() => listener.connected);
      await db.query(`insert into agentpg_instances (id, hostname) values ('late-sub', 'h')`);
      await until(() => seen.length > 0);
      expect(seen[0]).toMatchObject({ type: 'instance_registered', instanceId: 'late-sub' });
    } finally {
      proxy.restore();
      events.close();
      await listener.stop();
    }
  });
});
