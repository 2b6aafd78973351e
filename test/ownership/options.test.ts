import { describe, expect, it } from 'vitest';
import { AgentPG, ConfigError } from '../../src/index.js';
import { planBalance, resolveOwnershipOptions } from '../../src/ownership/index.js';

const url = 'postgres://u@127.0.0.1:1/x';

describe('ownership options: the lease inequality and the lock budget are enforced', () => {
  it('defaults satisfy heartbeat + client lease < server lease', () => {
    const o = resolveOwnershipOptions(undefined);
    expect(o).toMatchObject({
      shards: 1024,
      maxLocksPerSession: 1024,
      heartbeatIntervalMs: 1000,
      clientLeaseMs: 4000,
      serverLeaseMs: 8000,
    });
    expect(o.heartbeatIntervalMs + o.clientLeaseMs).toBeLessThan(o.serverLeaseMs);
  });

  it('a configuration that violates the inequality is refused with ConfigError', () => {
    // equal is not strictly less
    expect(() =>
      resolveOwnershipOptions({ heartbeatIntervalMs: 1000, clientLeaseMs: 4000, serverLeaseMs: 5000 }),
    ).toThrow(ConfigError);
    expect(() => resolveOwnershipOptions({ clientLeaseMs: 9000 })).toThrow(/lease inequality/);
    // and at construction, before anything connects
    expect(() => new AgentPG({ databaseUrl: url, ownership: { serverLeaseMs: 3000 } })).toThrow(ConfigError);
    expect(
      () =>
        new AgentPG({
          databaseUrl: url,
          ownership: { heartbeatIntervalMs: 200, clientLeaseMs: 800, serverLeaseMs: 1100 },
        }),
    ).not.toThrow();
    expect(
      () =>
        new AgentPG({
          databaseUrl: url,
          ownership: { heartbeatIntervalMs: 400, clientLeaseMs: 800, serverLeaseMs: 1100 },
        }),
    ).toThrow(ConfigError);
  });

  it('refuses a client lease shorter than two heartbeats, too many locks per session, unknown keys', () => {
    expect(() =>
      resolveOwnershipOptions({ heartbeatIntervalMs: 1000, clientLeaseMs: 1500, serverLeaseMs: 8000 }),
    ).toThrow(/2 × heartbeatIntervalMs/);
    expect(() => resolveOwnershipOptions({ maxLocksPerSession: 5000 })).toThrow(/at most 1024/);
    expect(() => resolveOwnershipOptions({ shards: 0 })).toThrow(ConfigError);
    expect(() => resolveOwnershipOptions({ shards: 1.5 })).toThrow(ConfigError);
    expect(() => resolveOwnershipOptions({ lease: 3 } as never)).toThrow(/not a known option/);
  });

  it('refuses long-running kinds without a handler', () => {
    expect(() => new AgentPG({ databaseUrl: url, longRunning: [{ kind: 'x' } as never] })).toThrow(ConfigError);
    expect(() => new AgentPG({ databaseUrl: url, longRunning: [{ kind: '', handler: async () => {} }] })).toThrow(
      ConfigError,
    );
  });
});

describe('fair share of shards (planBalance)', () => {
  const locks = (owners: Record<string, number[]>) =>
    Object.entries(owners).flatMap(([holder, shards]) => shards.map((shard) => ({ shard, holder })));
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

  it('a newcomer claims free shards up to ceil(S / m)', () => {
    const p = planBalance({
      shardCount: 10,
      members: ['a', 'b'],
      me: 'b',
      locks: locks({ a: range(0, 4) }),
      mineActive: 0,
      orphans: new Set(),
    });
    expect(p.target).toBe(5);
    expect(p.claim).toHaveLength(5);
    expect(p.claim.every((s) => s >= 4)).toBe(true);
    expect(p.shed).toBe(0);
  });

  it('an instance above its share sheds only when others lack shards the free ones cannot cover', () => {
    // a holds all 12, b and c joined with none: a keeps 4
    expect(
      planBalance({
        shardCount: 12,
        members: ['a', 'b', 'c'],
        me: 'a',
        locks: locks({ a: range(0, 12) }),
        mineActive: 12,
        orphans: new Set(),
      }).shed,
    ).toBe(8);
    // free shards cover the newcomer's deficit: no shedding
    // (S = 10, m = 4: T = 3, t = 2; a holds 4, d none, 2 free: d takes the free ones)
    const cover = locks({ a: range(0, 4), b: [4, 5], c: [6, 7] });
    expect(
      planBalance({
        shardCount: 10,
        members: ['a', 'b', 'c', 'd'],
        me: 'a',
        locks: cover,
        mineActive: 4,
        orphans: new Set(),
      }).shed,
    ).toBe(0);
    // ... and sheds just what they cannot cover (S = 12, m = 2: a holds 8, b none, 4 free: 2 more)
    expect(
      planBalance({
        shardCount: 12,
        members: ['a', 'b'],
        me: 'a',
        locks: locks({ a: range(0, 8) }),
        mineActive: 8,
        orphans: new Set(),
      }).shed,
    ).toBe(2);
    // steady state 342/341/341 of 1024: nobody moves
    const steady = locks({ a: range(0, 342), b: range(342, 683), c: range(683, 1024) });
    for (const me of ['a', 'b', 'c']) {
      const mine = steady.filter((l) => l.holder === me).length;
      const p = planBalance({
        shardCount: 1024,
        members: ['a', 'b', 'c'],
        me,
        locks: steady,
        mineActive: mine,
        orphans: new Set(),
      });
      expect(p.shed).toBe(0);
      expect(p.claim).toEqual([]);
    }
  });

  it('orphans are claimed by anyone, even above the share', () => {
    const p = planBalance({
      shardCount: 4,
      members: ['a', 'b'],
      me: 'a',
      locks: locks({ a: [0, 1], b: [2] }),
      mineActive: 2,
      orphans: new Set([3]),
    });
    expect(p.claim).toEqual([3]);
  });
});
