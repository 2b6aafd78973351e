import { describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/client.js';
import { createLogger } from '../../src/logger.js';
import type { TcpProxy } from '../../src/testing/tcpProxy.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
let proxy: TcpProxy;
test.beforeAll(async ({ db: testDb, proxy: testProxy }) => {
  db = testDb;
  proxy = testProxy;
});

describe('connections lost while running', () => {
  it('reports through onError, reconnects (heartbeat, pool, listener) and keeps working', async () => {
    const errors: Error[] = [];
    const client = new AgentPG({
      databaseUrl: proxy.urlFor(db.url),
      instanceId: 'fault-a',
      migrate: false,
      anthropic: { baseURL: 'http://127.0.0.1:9', apiKey: 'test' },
      heartbeatIntervalMs: 200,
      instanceTtlMs: 60_000,
      cleanupIntervalMs: 60_000,
      poolSize: 2,
      logger: createLogger({ level: 'silent' }),
      onError: (e) => errors.push(e),
    });
    await client.start();
    try {
      const heartbeatAt = async () =>
        (await db.query(`select last_heartbeat_at from agentpg_instances where id = 'fault-a'`))[0]
          ?.last_heartbeat_at as Date;

      // The database "goes away": every connection of this client is killed, new ones are refused.
      proxy.refuse();
      await db.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and application_name like 'agentpg%'`,
      );
      // Heartbeats fail, the listener's reconnects fail, pg-boss's polls fail: all reported.
      await until(() => errors.length >= 3);
      expect((await client.health()).databaseReachable).toBe(false);
      const during = await heartbeatAt();

      // It comes back: the heartbeat resumes on fresh pool connections, the listener reconnects.
      proxy.restore();
      await until(async () => (await heartbeatAt()) > during);
      await until(async () => (await client.health()).eventsConnected);
      const health = await client.health();
      expect(health).toMatchObject({ running: true, databaseReachable: true, eventsConnected: true });
      expect(errors.length).toBeGreaterThan(0);
      // No secret in what was reported.
      expect(errors.map((e) => e.message).join('\n')).not.toContain('agentpg@');

      // Events flow again after the outage.
      const seen: string[] = [];
      await client.events.subscribe('instance_registered', (e) => seen.push(e.instanceId));
      await db.query(`insert into agentpg_instances (id) values ('fault-b')`);
      await until(() => seen.includes('fault-b'));
    } finally {
      proxy.restore();
      await client.stop();
    }
    expect(await db.query(`select 1 from agentpg_instances where id = 'fault-a'`)).toHaveLength(0);
  });
});
