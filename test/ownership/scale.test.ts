import { afterAll, describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/index.js';
import type { LongRunningContext } from '../../src/ownership/types.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { FAST_OWNERSHIP, waitFor } from './helpers.js';

/**
 * Many agents per claim: the claim is split into several statements (16 shards each, or 2,000 ids)
 * and handlers start in chunks with yields between. Every active agent must still get exactly one
 * handler, with the epoch the database holds, whether it was taken over by shard (start-up) or by
 * id (inserted behind the instance's back, found by the periodic reconcile), and a second instance
 * joining must take a share without any agent running twice.
 */
describe('long-running agents: claims split into slices', () => {
  let db: TestDatabase;
  const clients: AgentPG[] = [];
  // agentId -> instance whose handler runs it now; starts counts every handler start.
  const running = new Map<string, string>();
  const doubleRuns: string[] = [];
  const starts = new Map<string, number>();
  const epochs = new Map<string, number>();

  const make = (instanceId: string) =>
    new AgentPG({
      databaseUrl: db.url,
      instanceId,
      migrate: false,
      poolSize: 3,
      ownership: { ...FAST_OWNERSHIP, shards: 64 },
      longRunning: [
        {
          kind: 'idle',
          handler: async (ctx: LongRunningContext) => {
            if (running.has(ctx.agentId))
              doubleRuns.push(`${ctx.agentId} on ${running.get(ctx.agentId)} and ${instanceId}`);
            running.set(ctx.agentId, instanceId);
            starts.set(ctx.agentId, (starts.get(ctx.agentId) ?? 0) + 1);
            epochs.set(ctx.agentId, ctx.epoch);
            await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
            running.delete(ctx.agentId);
          },
        },
      ],
    });

  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
    // 64 shards x ~47 agents: 4 claim statements by shard, several handler chunks.
    await db.query(`insert into agentpg_long_running_shards (id) select g from generate_series(0, 63) g`);
    await db.query(
      `insert into agentpg_long_running_agents (id, kind) select 'a-' || g, 'idle' from generate_series(1, 3000) g`,
    );
  });

  afterAll(async () => {
    for (const c of clients) await c.stop().catch(() => {});
  });

  it('start-up claims every agent once, by shard, with the database epoch', async () => {
    const a = make('scale-a');
    clients.push(a);
    await a.start();
    // start() includes the first sweep: everything is claimed once it returns.
    expect(running.size).toBe(3000);
    expect([...starts.values()].every((n) => n === 1)).toBe(true);
    const rows = await db.query<{ id: string; epoch: string; owner_instance_id: string }>(
      `select id, epoch, owner_instance_id from agentpg_long_running_agents`,
    );
    expect(rows.filter((r) => r.owner_instance_id !== 'scale-a')).toEqual([]);
    expect(rows.filter((r) => Number(r.epoch) !== epochs.get(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('agents inserted without NOTIFY are claimed by id (more than one id slice)', async () => {
    await db.query(
      `insert into agentpg_long_running_agents (id, kind) select 'b-' || g, 'idle' from generate_series(1, 2500) g`,
    );
    await waitFor('5,500 handlers', () => running.size === 5500 || null);
    expect([...starts.values()].every((n) => n === 1)).toBe(true);
    const stale = await db.query(
      `select id from agentpg_long_running_agents where owner_instance_id is distinct from 'scale-a'`,
    );
    expect(stale).toEqual([]);
  });

  it('a joining instance takes a share without running any agent twice', async () => {
    const b = make('scale-b');
    clients.push(b);
    await b.start();
    await waitFor(
      'a share on scale-b',
      () => [...running.values()].filter((i) => i === 'scale-b').length > 1000 || null,
      30_000,
    );
    await waitFor('all 5,500 running again', () => running.size === 5500 || null, 30_000);
    expect(doubleRuns).toEqual([]);
    // The database says the same as the handlers once hand-overs have settled.
    await waitFor(
      'owners in the database matching the running handlers',
      async () => {
        const owners = await db.query<{ owner_instance_id: string | null; n: number }>(
          `select owner_instance_id, count(*)::int as n from agentpg_long_running_agents group by 1`,
        );
        const ok =
          running.size === 5500 &&
          owners.every(
            (r) =>
              r.owner_instance_id !== null &&
              r.n === [...running.values()].filter((i) => i === r.owner_instance_id).length,
          );
        return ok || null;
      },
      30_000,
      200,
    );
    expect(doubleRuns).toEqual([]);
  });

  it('owner mirrors cleared behind the owners back are set again in batches, handlers untouched', async () => {
    const startsBefore = [...starts.values()].reduce((a, b) => a + b, 0);
    const epochsBefore = await db.query<{ id: string; epoch: string; owner_instance_id: string }>(
      `select id, epoch, owner_instance_id from agentpg_long_running_agents order by id`,
    );
    // What a cleanup pass does to the agents of an instance it believes dead: owner cleared,
    // epoch unchanged (so the running handlers stay valid).
    await db.query(`update agentpg_long_running_agents set owner_instance_id = null, owned_since = null`);
    await waitFor(
      'every owner mirror set again',
      async () =>
        (await db.query(`select 1 from agentpg_long_running_agents where owner_instance_id is null limit 1`)).length ===
          0 || null,
      30_000,
      200,
    );
    const after = await db.query<{ id: string; epoch: string; owner_instance_id: string }>(
      `select id, epoch, owner_instance_id from agentpg_long_running_agents order by id`,
    );
    expect(after).toEqual(epochsBefore);
    expect(after.filter((r) => running.get(r.id) !== r.owner_instance_id)).toEqual([]);
    expect([...starts.values()].reduce((a, b) => a + b, 0)).toBe(startsBefore);
    expect(doubleRuns).toEqual([]);
  });
});
