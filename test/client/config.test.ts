import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentPG, ConfigError, DatabaseUnavailableError } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('client configuration and start-up', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('rejects a config without a postgres URL with a ConfigError naming the field', () => {
    expect(() => new AgentPG({ databaseUrl: 'mysql://x' })).toThrow(ConfigError);
    expect(() => new AgentPG({ databaseUrl: 'mysql://x' })).toThrow(/databaseUrl/);
  });

  it('rejects an agent that uses an unregistered tool', () => {
    expect(() => new AgentPG({ databaseUrl: db.url, agents: [{ name: 'a', model: 'm', tools: ['nope'] }] })).toThrow(
      /uses tool "nope"/,
    );
  });

  it('rejects a heartbeat interval longer than the instance TTL', () => {
    expect(() => new AgentPG({ databaseUrl: db.url, heartbeatIntervalMs: 5000, instanceTtlMs: 1000 })).toThrow(ConfigError);
  });

  it('fails start() with a typed error that hides the password when the database is unreachable', async () => {
    const client = new AgentPG({ databaseUrl: 'postgres://u:hunter2@127.0.0.1:1/nowhere' });
    const err = await client.start().catch((e) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(String(err.message)).toContain('127.0.0.1:1/nowhere');
    expect(String(err.message)).not.toContain('hunter2');
    expect(client.isRunning).toBe(false);
  }, 30_000);

  it('starts and stops against a real database', async () => {
    const client = new AgentPG({ databaseUrl: db.url });
    await client.start();
    expect(client.isRunning).toBe(true);
    await client.stop();
    expect(client.isRunning).toBe(false);
  });
});
