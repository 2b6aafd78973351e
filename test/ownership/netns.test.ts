import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { ACTIVITY_TABLE_SQL, type ChildEvent, dumpOnFailure, findLogOverlaps, findOverlaps, Instance, LEASE_OWNERSHIP, waitFor } from './helpers.js';
import { createNetnsLab, netnsUnavailable, type NetnsLab } from './netns.js';

const AGENTS = 8;
const unavailable = netnsUnavailable();

/**
 * A real packet drop between network namespaces (optional: skipped where `ip netns` is not
 * permitted). P reaches its own Postgres through a router namespace that drops every packet; Q and
 * the test use a direct link. Checked like the proxy partition: P gives up before Q takes over,
 * its queued writes (retransmitted by TCP after the heal) are all fenced off, no overlap.
 */
describe.skipIf(unavailable !== null)(`partition by packet drop between network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let lab: NetnsLab;
  let pool: pg.Pool;
  let p: Instance;
  let q: Instance;
  const query = async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;

  beforeAll(async () => {
    lab = await createNetnsLab();
    await waitFor('netns postgres up', async () => {
      const c = new pg.Client({ connectionString: lab.directUrl });
      c.on('error', () => {});
      await c.connect();
      await c.end();
      return true;
    }, 30_000, 200);
    await migrate(lab.directUrl);
    pool = new pg.Pool({ connectionString: lab.directUrl, max: 3 });
    pool.on('error', () => {});
    await query(ACTIVITY_TABLE_SQL);
    await query(`insert into agentpg_long_running_shards (id) select generate_series(0, 15)`);
    await query(`insert into agentpg_long_running_agents (id, kind) select 'c-' || g, 'counter' from generate_series(1, $1) g`, [AGENTS]);
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
    await waitFor('P and Q both own agents', async () => {
      const rows = await owners();
      return rows.every((r) => r.owner_instance_id) && new Set(rows.map((r) => r.owner_instance_id)).size === 2;
    }, 30_000);
    const onP = (await owners()).filter((r) => r.owner_instance_id === 'P');
    await waitFor('P writing', () => onP.every((a) => p.has('write', (e) => e.ok && e.agent === a.id && e.epoch === Number(a.epoch))));

    const cutAt = Date.now();
    lab.cut();
    await waitFor('P aborted its handlers', () => onP.every((a) => p.has('aborted', (e) => e.agent === a.id && e.reason === 'lost')), 20_000);
    await waitFor('Q writing P agents', () => onP.every((a) => q.has('write', (e) => e.agent === a.id && e.ok && e.epoch > Number(a.epoch))), 30_000);
    const gaveUpAt = Math.max(...p.events.filter((e) => e.ev === 'aborted' && e.reason === 'lost').map((e) => e.t));
    const tookOverAt = Math.min(...q.events.filter((e) => e.ev === 'started' && onP.some((a) => a.id === e.agent && e.epoch > Number(a.epoch))).map((e) => e.t));
    console.log(`[ownership] netns packet drop: P gave up after ${gaveUpAt - cutAt} ms, Q took over after ${tookOverAt - cutAt} ms`);
    expect(gaveUpAt).toBeLessThan(tookOverAt);

    const outcome = (f: ChildEvent) => p.events.find((e) => e.ev === 'write' && e.agent === f.agent && e.epoch === f.epoch && e.n === f.n);
    const queued = p.events.filter((e) => e.ev === 'fire' && onP.some((a) => a.id === e.agent && Number(a.epoch) === e.epoch) && !outcome(e));
    expect(queued.length).toBeGreaterThan(0);
    const healedAt = Date.now();
    lab.heal();
    await waitFor('queued writes answered (TCP retransmits after the heal)', () => queued.every((f) => outcome(f)), 60_000, 100);
    const results = queued.map((f) => outcome(f)!);
    for (const r of results.filter((x) => x.ok)) {
      const [row] = await query(`select at from test_activity where agent_id = $1 and epoch = $2 and n = $3`, [r.agent, r.epoch, r.n]);
      expect(row.at.getTime()).toBeLessThan(healedAt);
    }
    const fenced = results.filter((r) => r.stale);
    expect(fenced.length).toBeGreaterThan(0);
    for (const r of results.filter((x) => !x.ok && !x.stale)) expect(r.message).toMatch(/terminat|Connection|timeout|ECONNRESET|EPIPE/i);
    console.log(`[ownership] netns: ${results.length} writes queued during the cut: ${fenced.length} rejected by the fence, ${results.filter((x) => x.ok).length} committed before the cut, the rest lost with their connection`);

    const rows = await query(`select agent_id, epoch::text as epoch, instance_id, at from test_activity`);
    expect(findOverlaps(rows)).toEqual([]);
    expect(await findLogOverlaps({ query })).toEqual([]);
  });
});
