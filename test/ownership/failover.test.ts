import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StaleOwnerError } from '../../src/index.js';
import { writeCheckpoint } from '../../src/ownership/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { dumpOnFailure, findLogOverlaps, findOverlaps, Instance, seedCounterAgents, waitFor } from './helpers.js';

const AGENTS = 12;

/**
 * Real child processes (test/fixtures/ownership-instance.ts), real Postgres. Each agent's handler
 * writes (agent, epoch, instance, time) rows through the fence; the no-overlap check runs over
 * them at the end.
 */
describe('long-running agents across processes: crash, terminated lock session, graceful stop', () => {
  let db: TestDatabase;
  const instances: Instance[] = [];

  const owners = async () =>
    db.query<{ id: string; owner_instance_id: string | null; epoch: string; checkpoint: any }>(
      `select id, owner_instance_id, epoch, checkpoint from agentpg_long_running_agents order by id`,
    );
  /** The newest activity row of each agent. */
  const latest = async () =>
    new Map(
      (
        await db.query<{ agent_id: string; instance_id: string; epoch: string; at: Date }>(
          `select distinct on (agent_id) agent_id, instance_id, epoch, at from test_activity order by agent_id, at desc`,
        )
      ).map((r) => [r.agent_id, r]),
    );

  /** Waits until each of `moved` writes on instance `to` under a newer epoch; returns when it saw that. */
  const writingOn = (to: string, moved: Array<{ id: string; epoch: string | number }>, everyMs: number) =>
    waitFor(
      `the agents writing on ${to}`,
      async () => {
        const l = await latest();
        return moved.every((o) => l.get(o.id)?.instance_id === to && BigInt(l.get(o.id)!.epoch) > BigInt(o.epoch))
          ? Date.now()
          : 0;
      },
      10_000,
      everyMs,
    );

  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
    await seedCounterAgents(db.query, AGENTS);
    instances.push(
      ...(await Promise.all([
        Instance.spawn({ id: 'A', databaseUrl: db.url }),
        Instance.spawn({ id: 'B', databaseUrl: db.url }),
      ])),
    );
    await waitFor(
      'every agent running',
      async () => (await latest()).size === AGENTS && (await owners()).every((o) => o.owner_instance_id),
    );
  });

  afterEach((ctx) => dumpOnFailure(ctx, instances));

  afterAll(async () => {
    for (const i of instances) i.kill();
    await Promise.all(instances.map((i) => i.exited));
  });

  it('SIGKILL an owner: its agents run elsewhere within 3 s, checkpoints intact', async () => {
    const [a, b] = instances;
    // Both own agents (the fair share of 16 shards is 8 each), and A has saved checkpoints of its own.
    const before = await waitFor('A and B both own agents', async () => {
      const rows = await owners();
      const onA = rows.filter((o) => o.owner_instance_id === 'A');
      const settled = onA.every((o) => a.has('write', (e) => e.ok && e.agent === o.id && e.epoch === Number(o.epoch)));
      return rows.every((o) => o.owner_instance_id) && onA.length > 0 && onA.length < rows.length && settled
        ? onA
        : null;
    });
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    const movedAt = await writingOn('B', before, 20);
    const elapsed = movedAt - killedAt;
    console.log(`[ownership] SIGKILL -> agents writing on the survivor after ${elapsed} ms`);
    // Sooner than the server lease (FAST_OWNERSHIP: 4 s) could have freed them: the survivor saw
    // the closed sockets.
    expect(elapsed).toBeLessThan(4000);
    // Checkpoints intact: B resumed each agent from a checkpoint at least as new as every one A
    // had acknowledged (A saves them in order) and as the one read before the kill.
    for (const o of before) {
      const started = b.events.find((e) => e.ev === 'started' && e.agent === o.id && e.epoch > Number(o.epoch));
      expect(started, o.id).toBeTruthy();
      expect(started!.checkpoint.count).toBeGreaterThanOrEqual(o.checkpoint?.count ?? 0);
      const acked = a.events.filter((e) => e.ev === 'write' && e.ok && e.agent === o.id).map((e) => e.n as number);
      expect(acked.length).toBeGreaterThan(0);
      expect(started!.checkpoint.count).toBeGreaterThanOrEqual(Math.max(...acked));
      expect(started!.checkpoint.instance).toBe('A');
    }
  });

  it('pg_terminate_backend on a lock session: the old owner stops, the new epoch is higher, old-epoch writes are rejected', async () => {
    const b = instances[1];
    await waitFor('B owns everything', async () => (await owners()).every((o) => o.owner_instance_id === 'B'));
    const [victim] = await db.query<{ lock_pid: number }>(
      `select lock_pid from agentpg_long_running_owners where active and lock_owner_tag = 'B' group by lock_pid order by count(*) desc limit 1`,
    );
    const affected = await db.query<{ agent_id: string; epoch: string }>(
      `select agent_id, epoch from agentpg_long_running_owners where lock_pid = $1 and active`,
      [victim.lock_pid],
    );
    expect(affected.length).toBeGreaterThan(0);
    await db.query(`select pg_terminate_backend($1)`, [victim.lock_pid]);
    // The old ownership stops: every affected handler is aborted as lost.
    await waitFor('handlers aborted as lost', () =>
      affected.every((a) =>
        b.has('aborted', (e) => e.agent === a.agent_id && e.epoch === Number(a.epoch) && e.reason === 'lost'),
      ),
    );
    // A new ownership with a higher epoch takes over (here B again: it is the only instance).
    await waitFor('new epochs writing', async () => {
      const l = await latest();
      return affected.every((a) => BigInt(l.get(a.agent_id)?.epoch ?? 0) > BigInt(a.epoch));
    });
    for (const a of affected) {
      await expect(writeCheckpoint(db.pool, a.agent_id, Number(a.epoch), { stale: true })).rejects.toBeInstanceOf(
        StaleOwnerError,
      );
    }
    const rows = await db.query(
      `select checkpoint from agentpg_long_running_agents where checkpoint @> '{"stale": true}'`,
    );
    expect(rows).toEqual([]);
  });

  it('a joining instance gets its fair share; graceful stop hands over within 1 s (bound 5 s)', async () => {
    const b = instances[1];
    const c = await Instance.spawn({ id: 'C', databaseUrl: db.url });
    instances.push(c);
    // Join: B sheds down to its share (8 of 16 shards) and C takes them.
    await waitFor('B and C share the shards', async () => {
      const rows = await db.query<{ n: number }>(
        `select count(*)::int as n from agentpg_long_running_shards group by owner_instance_id having owner_instance_id in ('B', 'C')`,
      );
      return rows.length === 2 && rows.every((r) => r.n === 8);
    });
    expect(b.has('aborted', (e) => e.reason === 'rebalance')).toBe(true);
    await waitFor('every agent writing again', async () => (await owners()).every((o) => o.owner_instance_id));
    const onB = (await owners()).filter((o) => o.owner_instance_id === 'B');
    expect(onB.length).toBeGreaterThan(0);
    const stopAt = Date.now();
    b.send('stop');
    const movedAt = await writingOn('C', onB, 10);
    const elapsed = movedAt - stopAt;
    console.log(`[ownership] graceful stop -> agents writing on the other instance after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(5000);
    await waitFor('B stopped', () => b.has('stopped'));
    const stopped = b.events.find((e) => e.ev === 'stopped')!;
    expect(stopped.metrics.agents_saved_on_shutdown).toBe(onB.length);
    // Graceful: B's handlers saw 'shutdown', and their last writes all landed (none rejected).
    expect(
      b.events.filter(
        (e) =>
          e.ev === 'write' &&
          !e.ok &&
          e.stale &&
          onB.some((o) => o.id === e.agent) &&
          e.epoch === Number(onB.find((x) => x.id === e.agent)!.epoch),
      ),
    ).toEqual([]);
  });

  it('no two owners ever overlapped (activity rows and the ownership log)', async () => {
    const rows = await db.query(`select agent_id, epoch::text as epoch, instance_id, at from test_activity`);
    expect(rows.length).toBeGreaterThan(100);
    expect(findOverlaps(rows)).toEqual([]);
    expect(await findLogOverlaps(db)).toEqual([]);
  });
});
