// The retention config: off unless it names an age, its defaults, and bad values refused with a
// ConfigError naming the field, at construction (before any connection).
import { describe, expect, it } from 'vitest';
import { AgentPG, ConfigError } from '../../src/index.js';
import {
  RETENTION_BATCH_SIZE_DEFAULT,
  RETENTION_INTERVAL_DEFAULT_MS,
  resolveRetention,
} from '../../src/retention/settings.js';

const make = (retention: unknown) =>
  new AgentPG({ databaseUrl: 'postgres://nobody@127.0.0.1:1/x', retention: retention as never });

describe('retention settings', () => {
  it('is off without an age', () => {
    expect(resolveRetention(undefined)).toBeNull();
    expect(resolveRetention({})).toBeNull();
    expect(resolveRetention({ mode: 'archive', batchSize: 5 })).toBeNull();
    // Only "keep forever" entries: still nothing to retire.
    expect(resolveRetention({ perTenant: { a: null } })).toBeNull();
  });

  it('fills in the defaults; per-tenant sweeps first, the global one excludes them', () => {
    expect(resolveRetention({ finishedRunsMaxAgeMs: 1000, perTenant: { a: 5000, b: null } })).toEqual({
      mode: 'delete',
      batchSize: RETENTION_BATCH_SIZE_DEFAULT,
      intervalMs: RETENTION_INTERVAL_DEFAULT_MS,
      policies: [
        { tenantId: 'a', exceptTenants: [], maxAgeMs: 5000 },
        { tenantId: null, exceptTenants: ['a', 'b'], maxAgeMs: 1000 },
      ],
    });
    expect(RETENTION_BATCH_SIZE_DEFAULT).toBe(100);
    expect(RETENTION_INTERVAL_DEFAULT_MS).toBe(600_000);
  });

  it('refuses bad values with a ConfigError naming the field', () => {
    expect(() => make({ finishedRunsMaxAgeMs: 0 })).toThrow(ConfigError);
    expect(() => make({ finishedRunsMaxAgeMs: -5 })).toThrow(/retention\.finishedRunsMaxAgeMs/);
    expect(() => make({ finishedRunsMaxAgeMs: 1000, batchSize: 0 })).toThrow(/retention\.batchSize/);
    expect(() => make({ finishedRunsMaxAgeMs: 1000, mode: 'shred' })).toThrow(/retention\.mode/);
    expect(() => make({ perTenant: { a: '1d' } })).toThrow(/retention\.perTenant\.a/);
    expect(() => make({ finishedRunsMaxAgeMs: 1000, maxAge: 5 })).toThrow(/retention/);
    expect(() => make({ finishedRunsMaxAgeMs: 1000, intervalMs: 1000, mode: 'archive' })).not.toThrow();
  });
});
