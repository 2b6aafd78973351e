import { afterAll, describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/index.js';
import { LOCK_NAMESPACE } from '../../src/ownership/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { FAST_OWNERSHIP, waitFor } from './helpers.js';

const AGENTS = 10_000;

/**
 * 10,000 agents on default sharding (1024 shards, <= 1024 locks per session) across three
 * in-process instances: everything owned, joins and leaves move agents to a fair share.
 */
describe('10,000 agents across 3 instances', () => {
  let db: TestDatabase;
  const clients: AgentPG[] = [];
  const running = new Map<string, Set<string>>();

  const makeClient = (id: string) => {
    const set = new Set<string>();
    running.set(id, set);
    return new AgentPG({
      databaseUrl: db.url,
      instanceId: id,
      migrate: false,
      poolSize: 3,
      ownership: { ...FAST_OWNERSHIP, shards: 1024, reconcileIntervalMs: 10_000 },
      longRunning: [
        {
          kind: 'idle',
          handler: async (ctx) => {
            set.add(ctx.agentId);
            await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
            set.delete(ctx.agentId);
          },
        },
      ],
    });
  };

  const distribution = async () =>
    db.query<{ owner: string | null; n: number }>(
      `select owner_instance_id as owner, count(*)::int as n from agentpg_long_running_agents group by 1 order by 1`,
    );

  /** Every agent owned by one of `ids`, running there exactly once, busiest <= 1.2 × mean. */
  const balancedOver = async (ids: string[]) => {
    const rows = await distribution();
    if (rows.some((r) => r.owner === null || !ids.includes(r.owner)) || rows.length !== ids.length) return null;
    const handlers = ids.reduce((n, id) => n + running.get(id)!.size, 0);
    if (handlers !== AGENTS) return null;
    const mean = AGENTS / ids.length;
    const busiest = Math.max(...rows.map((r) => r.n));
    return busiest <= 1.2 * mean ? { busiest, mean, rows } : null;
  };

  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
    await db.query(
      `insert into agentpg_long_running_agents (id, kind) select 'a-' || g, 'idle' from generate_series(1, $1) g`,
      [AGENTS],
    );
  });

  afterAll(async () => {
    for (const c of clients) await c.stop().catch(() => {});
  });

  it('one instance owns all 10,000 with 1024 locks on one session', async () => {
    const a = makeClient('inst-a');
    clients.push(a);
    const t0 = Date.now();
    await a.start();
    await waitFor('all owned by a', () => balancedOver(['inst-a']), 60_000, 100);
    console.log(`[ownership] 10,000 agents restored on one instance in ${Date.now() - t0} ms`);
    const locks = await db.query<{ pid: number; n: number }>(
      `select pid, count(*)::int as n from pg_locks where locktype = 'advisory' and classid = $1::bigint::oid and objsubid = 2
        and database = (select oid from pg_database where datname = current_database()) group by pid`,
      [LOCK_NAMESPACE],
    );
    expect(locks.reduce((n, l) => n + l.n, 0)).toBe(1024);
    // maxLocksPerSession (1024 by default): one lock session holds them all.
    expect(locks).toHaveLength(1);
    // agents are spread evenly over the shards (round-robin at insert)
    const [spread] = await db.query(
      `select min(n)::int as min, max(n)::int as max from (select count(*) as n from agentpg_long_running_agents group by shard) x`,
    );
    expect(spread.max - spread.min).toBeLessThanOrEqual(1);
  });

  it('two instances join: the first sheds, all three reach a fair share', async () => {
    const b = makeClient('inst-b');
    const c = makeClient('inst-c');
    clients.push(b, c);
    const t0 = Date.now();
    await Promise.all([b.start(), c.start()]);
    const r = await waitFor('balanced over a, b, c', () => balancedOver(['inst-a', 'inst-b', 'inst-c']), 60_000, 100);
    console.log(`[ownership] join: balanced in ${Date.now() - t0} ms`, r.rows);
    expect(r.busiest).toBeLessThanOrEqual(1.2 * r.mean);
    const shards = await db.query<{ n: number }>(
      `select count(*)::int as n from agentpg_long_running_shards group by owner_instance_id`,
    );
    expect(Math.max(...shards.map((s) => s.n))).toBeLessThanOrEqual(Math.ceil(1024 / 3));
  });

  it('one leaves: the other two absorb its share', async () => {
    const c = clients.find((x) => x.instanceId === 'inst-c')!;
    const t0 = Date.now();
    await c.stop();
    const r = await waitFor('balanced over a, b', () => balancedOver(['inst-a', 'inst-b']), 60_000, 100);
    console.log(`[ownership] leave: balanced in ${Date.now() - t0} ms`, r.rows);
    expect(running.get('inst-c')!.size).toBe(0);
    // each agent runs in exactly one place
    const a = running.get('inst-a')!;
    for (const id of running.get('inst-b')!) expect(a.has(id)).toBe(false);
  });
});
