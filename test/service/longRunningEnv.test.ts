import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { readLongRunningEnv } from '../../src/service/ownershipEnv.js';
import { test } from '../helpers/fixtures.js';
import { json, startService } from '../helpers/service.js';

describe('the service: switches for long-running agents from the environment', () => {
  it('maps recovery, lease, heartbeat and give-up variables to the ownership options', () => {
    expect(readLongRunningEnv({})).toEqual({ recovery: true, ownership: {} });
    expect(
      readLongRunningEnv({
        AGENTPG_AGENT_RECOVERY: '0',
        AGENTPG_OWNERSHIP_LEASE_MS: '30000',
        AGENTPG_OWNERSHIP_HEARTBEAT_MS: '10000',
        AGENTPG_OWNERSHIP_MAX_RESTARTS: '5',
      }),
    ).toEqual({
      recovery: false,
      // The server lease follows the client lease (twice it) unless set: 10 s + 30 s < 60 s.
      ownership: { clientLeaseMs: 30_000, serverLeaseMs: 60_000, heartbeatIntervalMs: 10_000, maxRestarts: 5 },
    });
    expect(readLongRunningEnv({ AGENTPG_AGENT_RECOVERY: 'false' }).recovery).toBe(false);
  });

  it('refuses a bad value with a ConfigError naming the variable', () => {
    expect(() => readLongRunningEnv({ AGENTPG_AGENT_RECOVERY: 'maybe' })).toThrow(/AGENTPG_AGENT_RECOVERY/);
    expect(() => readLongRunningEnv({ AGENTPG_OWNERSHIP_LEASE_MS: '30s' })).toThrow(ConfigError);
    expect(() => readLongRunningEnv({ AGENTPG_OWNERSHIP_LEASE_MS: '30s' })).toThrow(/AGENTPG_OWNERSHIP_LEASE_MS/);
    // heartbeat 5 s + client lease 4 s is not below the 8 s server lease: refused, with the names.
    expect(() => readLongRunningEnv({ AGENTPG_OWNERSHIP_HEARTBEAT_MS: '5000' })).toThrow(
      /clientLeaseMs must be at least 2 × heartbeatIntervalMs.*heartbeatIntervalMs = AGENTPG_OWNERSHIP_HEARTBEAT_MS/,
    );
  });

  describe('in the running service', () => {
    test('exits at start-up on a bad variable, saying which', async ({ db }) => {
      const err = await startService({ DATABASE_URL: db.url, AGENTPG_OWNERSHIP_LEASE_MS: 'soon' }).catch((e) => e);
      expect(String(err)).toMatch(/service exited early \(1\)[\s\S]*AGENTPG_OWNERSHIP_LEASE_MS/);
    });

    test('with AGENTPG_AGENT_RECOVERY=0 starts long-running agents for others but runs none itself', async ({ db }) => {
      const s = await startService({
        DATABASE_URL: db.url,
        ANTHROPIC_API_KEY: undefined,
        AGENTPG_API_TOKEN: undefined,
        AGENTPG_AGENT_RECOVERY: '0',
      });
      try {
        const res = await fetch(`${s.url}/v1/long-running`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'watcher', id: 'nobody-runs-me' }),
        });
        expect(res.status).toBe(201);
        await new Promise((r) => setTimeout(r, 1500));
        const agent = await json(await fetch(`${s.url}/v1/long-running`));
        expect(agent).toEqual([expect.objectContaining({ id: 'nobody-runs-me', active: true, ownerInstanceId: null })]);
        expect(s.output()).toContain('AGENTPG_AGENT_RECOVERY=0');
      } finally {
        await s.stop();
      }
    });
  });
});
