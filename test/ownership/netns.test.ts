import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
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
import { createNetnsLab, netnsUnavailable, type NetnsLab } from './netns.js';

const AGENTS = 8;
const unavailable = netnsUnavailable();

/**
 * A real packet drop between network namespaces (optional: skipped where `ip netns` is not
 * permitted). P reaches its own Postgres through a router namespace that drops every packet; Q and
 * the test use a direct link. Checked like the proxy partition: P gives up before Q takes over,
 * its queued writes (retransmitted by TCP after the heal) are all fenced off, no overlap.
 */
describe.skipIf(unavailable !== null)(
  `partition by packet drop between network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let lab: NetnsLab;
    let pool: pg.Pool;
    let p: Instance;
    let q: Instance;
    const query = async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;

    beforeAll(async () => {
      lab = await createNetnsLab();
      await waitFor(
        'netns postgres up',
        async () => {
          const c = new pg.Client({ connectionString: lab.directUrl });
          c.on('error', () => {});
          await c.connect();
          await c.end();
          return true;
        },
        30_000,
        200,
      );
      await migrate(lab.directUrl);
      pool = new pg.Pool({ connectionString: lab.directUrl, max: 3 });
      pool.on('error', () => {});
      await seedCounterAgents(query, AGENTS);
      [p, q] = await Promise.all([
        Instance.spawn({ id: 'P', databaseUrl: lab.appUrl, ownership: LEASE_OWNERSHIP, netns: lab.appNs }),
        Instance.spawn({ id: 'Q', databaseUrl: lab.directUrl, ownership: LEASE_OWNERSHIP }),
      ]);
    }, 180_000);

    afterEach((ctx) => dumpOnFailure(ctx, [p, q]));

    afterAll(async () => {
      lab?.heal();
      p?.kill();
      q?.kill();
      await Promise.all([p?.exited, q?.exited]);
      await pool?.end();
      await lab?.destroy();
    });

    it('the cut-off owner gives up before anyone takes over; queued writes are fenced off after the heal', async () => {
      const owners = () => query(`select id, owner_instance_id, epoch from agentpg_long_running_agents`);
      await waitFor(
        'P and Q both own agents',
        async () => {
          const rows = await owners();
          return rows.every((r) => r.owner_instance_id) && new Set(rows.map((r) => r.owner_instance_id)).size === 2;
        },
        30_000,
      );
      const onP = (await owners()).filter((r) => r.owner_instance_id === 'P');
      await waitFor('P writing', () =>
        onP.every((a) => p.has('write', (e) => e.ok && e.agent === a.id && e.epoch === Number(a.epoch))),
      );

      // The queued writes are answered once TCP retransmits them after the heal.
      const { cutAt, gaveUpAt, tookOverAt, queued, fenced, committed } = await cutAndHeal(p, q, onP, lab, {
        giveUpMs: 20_000,
        takeOverMs: 30_000,
        answeredMs: 60_000,
        query,
      });
      console.log(
        `[ownership] netns packet drop: P gave up after ${gaveUpAt - cutAt} ms, Q took over after ${tookOverAt - cutAt} ms`,
      );
      console.log(
        `[ownership] netns: ${queued} writes queued during the cut: ${fenced} rejected by the fence, ${committed} committed before the cut, the rest lost with their connection`,
      );

      const rows = await query(`select agent_id, epoch::text as epoch, instance_id, at from test_activity`);
      expect(findOverlaps(rows)).toEqual([]);
      expect(await findLogOverlaps({ query })).toEqual([]);
    });
  },
);
