import { describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { AgentPG, ConfigError, DatabaseUnavailableError } from '../../src/index.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

describe('client configuration and start-up', () => {
  let db: TestDatabase;
  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
  });

  it('rejects a config without a postgres URL with a ConfigError naming the field', () => {
    expect(() => new AgentPG({ databaseUrl: 'mysql://x' })).toThrow(ConfigError);
    expect(() => new AgentPG({ databaseUrl: 'mysql://x' })).toThrow(/databaseUrl/);
  });

  it('registers an agent whose tools are not all here, but never runs it on this instance', () => {
    // Capability routing: runs of `a` go to instances that have every tool it lists.
    const client = new AgentPG({
      databaseUrl: db.url,
      anthropic: { apiKey: 'test' },
      agents: [{ name: 'a', model: 'm', tools: ['nope'] }],
    });
    expect(client.registry.agents.has('a')).toBe(true);
    expect(client.registry.missingTools.get('a')).toEqual(['nope']);
  });

  it('rejects a heartbeat interval longer than the instance TTL', () => {
    expect(() => new AgentPG({ databaseUrl: db.url, heartbeatIntervalMs: 5000, instanceTtlMs: 1000 })).toThrow(
      ConfigError,
    );
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

  it('refuses agents without an API key at construction, naming the ways to give one', () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      const build = () => new AgentPG({ databaseUrl: db.url, agents: [{ name: 'a', model: 'm' }] });
      expect(build).toThrow(ConfigError);
      expect(build).toThrow(/anthropic\.apiKey or ANTHROPIC_API_KEY, or pass anthropic\.client/);
      // A base URL alone (a proxy) is not a key either.
      expect(
        () =>
          new AgentPG({
            databaseUrl: db.url,
            agents: [{ name: 'a', model: 'm' }],
            anthropic: { baseURL: 'http://127.0.0.1:9' },
          }),
      ).toThrow(ConfigError);
      // An instance without agents never calls the model: no key needed.
      expect(() => new AgentPG({ databaseUrl: db.url })).not.toThrow();
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('rejects anthropic.client that is not a client, or next to settings it would ignore', () => {
    expect(() => new AgentPG({ databaseUrl: db.url, anthropic: { client: {} as Anthropic } })).toThrow(
      /anthropic\.client: must be an Anthropic client/,
    );
    const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: 'http://127.0.0.1:9' });
    expect(() => new AgentPG({ databaseUrl: db.url, anthropic: { client, apiKey: 'x' } })).toThrow(
      /set apiKey on that client/,
    );
  });

  it('runs agents through an Anthropic client passed in, with no key in the config', async () => {
    const fake = await startFakeAnthropic();
    fake.enqueue({ text: 'from the given client' });
    const anthropic = new Anthropic({ apiKey: 'sk-ant-own-client', baseURL: fake.url, maxRetries: 0 });
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    const client = new AgentPG({
      databaseUrl: db.url,
      anthropic: { client: anthropic },
      agents: [{ name: 'own', model: 'claude-fake-model' }],
    });
    if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    await client.start();
    try {
      const agent = client.agent('own');
      const session = await agent.newSession({ tenantId: 't', identifier: 'own-client' });
      const result = await agent.run(session, 'hello', { timeoutMs: 20_000 });
      expect(result.text).toBe('from the given client');
      expect(fake.stats.received).toBe(1);
    } finally {
      await client.stop();
      await fake.close();
    }
  });
});
