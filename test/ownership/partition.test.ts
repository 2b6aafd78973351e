import type { TcpProxy } from '../../src/testing/tcpProxy.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import {
  cutAndHeal,
  dumpOnFailure,
  findLogOverlaps,
  findOverlaps,
  Instance,
  LEASE_OWNERSHIP,
  seedCounterAgents,
  waitFor,
} from './helpers.js';

const AGENTS = 12;

/**
 * A partition that TCP never notices: instance P reaches Postgres through a proxy that stops
 * forwarding in both directions while keeping both sockets open. Only the leases can resolve it:
 * P's client lease runs out first (it aborts its handlers), then the server lease
 * (idle_session_timeout) ends P's lock sessions and Q takes over. Every write P queued during the
 * cut reaches the server after the heal and must be rejected by the fence.
 */
describe('partition through a freezing TCP proxy (the lease path)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let p: Instance;
  let q: Instance;

  test.beforeAll(async ({ db: testDb, proxy: testProxy }) => {
    db = testDb;
    proxy = testProxy;
    await seedCounterAgents(db.query, AGENTS);
    [p, q] = await Promise.all([
      Instance.spawn({ id: 'P', databaseUrl: proxy.urlFor(db.url), ownership: LEASE_OWNERSHIP }),
      Instance.spawn({ id: 'Q', databaseUrl: db.url, ownership: LEASE_OWNERSHIP }),
    ]);
  });

  afterEach((ctx) => dumpOnFailure(ctx, [p, q]));

  afterAll(async () => {
    p?.kill();
    q?.kill();
    await Promise.all([p?.exited, q?.exited]);
  });

  it('the cut-off owner gives up before anyone takes over; its queued writes are all fenced off; no overlap', async () => {
    const owners = () =>
      db.query<{ id: string; owner_instance_id: string | null; epoch: string }>(
        `select id, owner_instance_id, epoch from agentpg_long_running_agents`,
      );
    await waitFor('P and Q both own agents', async () => {
      const rows = await owners();
      return rows.every((r) => r.owner_instance_id) && new Set(rows.map((r) => r.owner_instance_id)).size === 2;
    });
    await waitFor('P writing', () => p.has('write', (e) => e.ok));
    const onP = (await owners()).filter((r) => r.owner_instance_id === 'P');

    // P: the client lease runs out, every handler is aborted as lost. Q: takes over once the
    // server lease ended P's lock sessions.
    const freeze = { cut: () => proxy.freeze(), heal: () => proxy.thaw() };
    const {
      cutAt: frozenAt,
      gaveUpAt,
      tookOverAt,
      queued,
      fenced,
      committed,
    } = await cutAndHeal(p, q, onP, freeze, {
      giveUpMs: 15_000,
      takeOverMs: 15_000,
      answeredMs: 20_000,
      query: db.query,
    });
    console.log(
      `[ownership] proxy freeze: P gave up after ${gaveUpAt - frozenAt} ms, Q took over after ${tookOverAt - frozenAt} ms`,
    );
    console.log(
      `[ownership] ${queued} writes queued during the cut: ${fenced} rejected by the fence, ${committed} committed before the cut, the rest lost with their connection`,
    );
    // Postgres never ends a session before its idle_session_timeout (counted from the last heartbeat).
    expect(tookOverAt - frozenAt).toBeGreaterThanOrEqual(
      LEASE_OWNERSHIP.serverLeaseMs - LEASE_OWNERSHIP.heartbeatIntervalMs,
    );

    // After the heal P rejoins and gets its share back: activity goes on, still without overlap.
    await waitFor('P owns agents again', async () => (await owners()).some((r) => r.owner_instance_id === 'P'), 20_000);
    const rows = await db.query(`select agent_id, epoch::text as epoch, instance_id, at from test_activity`);
    expect(findOverlaps(rows)).toEqual([]);
    expect(await findLogOverlaps(db)).toEqual([]);
    // No activity row of P's old epochs is later than Q's first row of the next epoch.
    const [late] = await db.query(
      `select count(*)::int as n from test_activity a
        where a.instance_id = 'P' and exists (
          select 1 from test_activity b where b.agent_id = a.agent_id and b.epoch > a.epoch and b.at < a.at)`,
    );
    expect(late.n).toBe(0);
  });
});
