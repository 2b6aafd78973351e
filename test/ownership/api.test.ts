import { afterAll, describe, expect, it } from 'vitest';
import { AgentPG, NotFoundError, StaleOwnerError } from '../../src/index.js';
import { ValidationError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { LOCK_NAMESPACE, writeCheckpoint } from '../../src/ownership/index.js';
import type { LongRunningContext } from '../../src/ownership/types.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { FAST_OWNERSHIP, waitFor } from './helpers.js';

/** Captures log lines (message + fields) for the seed 004 log assertions. */
function captureLogger(lines: Array<{ msg: string; obj: object }>): Logger {
  const make = (): Logger => {
    const log = (obj: object | string, msg?: string) =>
      lines.push(typeof obj === 'string' ? { msg: obj, obj: {} } : { msg: msg ?? '', obj });
    return { debug: log, info: log, warn: log, error: log, child: () => make() };
  };
  return make();
}

describe('long-running agents: API, handler lifecycle, fencing (one instance)', () => {
  let db: TestDatabase;
  let client: AgentPG;
  const logs: Array<{ msg: string; obj: object }> = [];
  const seen: Array<{ id: string; epoch: number; checkpoint: unknown; restartCount: number }> = [];
  let failuresLeft = 2;

  test.beforeAll(async ({ db: testDb }) => {
    db = testDb;
    // An agent that exists before any instance starts: restored on start-up. Inserted before any
    // instance seeded the shards, so the trigger creates the default 1024 (ownership.shards: 16
    // below then changes nothing: shards only grow).
    await db.query(
      `insert into agentpg_long_running_agents (id, kind, config) values ('pre-1', 'loop', '{"step": 2}')`,
    );
    client = new AgentPG({
      databaseUrl: db.url,
      migrate: false,
      poolSize: 3,
      logger: captureLogger(logs),
      ownership: FAST_OWNERSHIP,
      longRunning: [
        {
          kind: 'loop',
          handler: async (ctx: LongRunningContext<{ step?: number }>) => {
            seen.push({
              id: ctx.agentId,
              epoch: ctx.epoch,
              checkpoint: ctx.checkpoint,
              restartCount: ctx.restartCount,
            });
            let n = (ctx.checkpoint as { n?: number } | null)?.n ?? 0;
            while (!ctx.signal.aborted) {
              n += ctx.config.step ?? 1;
              await ctx.saveCheckpoint({ n });
              await new Promise((r) => setTimeout(r, 20));
            }
            await ctx.saveCheckpoint({ n, final: true });
          },
        },
        {
          kind: 'flaky',
          handler: async (ctx) => {
            seen.push({
              id: ctx.agentId,
              epoch: ctx.epoch,
              checkpoint: ctx.checkpoint,
              restartCount: ctx.restartCount,
            });
            if (failuresLeft-- > 0) throw new Error('boom postgres://user:secret@host/db');
            await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
          },
        },
        { kind: 'oneshot', handler: async (ctx) => ctx.saveCheckpoint({ done: true }) },
      ],
    });
    await client.start();
  });

  afterAll(async () => {
    await client?.stop();
  });

  it('restores agents on start-up with seed 004 log lines', async () => {
    const a = await waitFor('pre-1 running', async () => {
      const row = await client.longRunning.get('pre-1');
      return row.ownerInstanceId === client.instanceId && (row.checkpoint as { n?: number } | null)?.n ? row : null;
    });
    expect(a.epoch).toBe(1);
    expect(a.shard).toBeGreaterThanOrEqual(0);
    expect(a.shard).toBeLessThan(16);
    const msgs = logs.map((l) => l.msg);
    expect(msgs).toContain('restoring running agents from database...');
    expect(msgs).toContain('agent restored successfully');
    const done = logs.find((l) => l.msg === 'agent restoration complete');
    expect(done?.obj).toMatchObject({ total: 1, restored: 1, skipped: 0, failed: 0 });
    const m = client.longRunning.metrics();
    expect(m.agents_restored_total).toBeGreaterThanOrEqual(1);
    expect(m.agent_lock_held).toBe(1024); // a lone instance holds every shard...
    expect(m.agent_lock_acquire_total).toBe(1024);
    expect(m.lock_sessions).toBe(1); // ...on one session (maxLocksPerSession: 1024 by default)
  });

  it('start() runs a new agent within a second; stop() aborts it, lets it save, releases it', async () => {
    const started = await client.longRunning.start({ id: 'w-1', kind: 'loop', config: { step: 5 } });
    expect(started).toMatchObject({ id: 'w-1', kind: 'loop', active: true, config: { step: 5 } });
    const t0 = Date.now();
    await waitFor(
      'w-1 running',
      async () => ((await client.longRunning.get('w-1')).checkpoint as { n?: number } | null)?.n,
      5000,
      20,
    );
    expect(Date.now() - t0).toBeLessThan(3000);

    await client.longRunning.stop('w-1');
    const stopped = await waitFor('w-1 released', async () => {
      const row = await client.longRunning.get('w-1');
      return row.ownerInstanceId === null ? row : null;
    });
    expect(stopped.active).toBe(false);
    expect(stopped.checkpoint).toMatchObject({ final: true });
    expect((stopped.checkpoint as { n: number }).n % 5).toBe(0);
    expect(client.longRunning.metrics().agents_running).toBe(1); // pre-1 only

    // Started again: a new ownership (epoch + 1) that continues from the checkpoint.
    const before = seen.filter((s) => s.id === 'w-1').length;
    await client.longRunning.start({ id: 'w-1', kind: 'loop' });
    await waitFor('w-1 restarted', () => seen.filter((s) => s.id === 'w-1').length > before);
    const again = seen.filter((s) => s.id === 'w-1').at(-1)!;
    expect(again.epoch).toBe(2);
    expect(again.checkpoint).toMatchObject({ final: true });
    expect((await client.longRunning.get('w-1')).config).toEqual({ step: 5 }); // kept when omitted
  });

  it('a write with an old epoch is rejected with StaleOwnerError', async () => {
    const row = await client.longRunning.get('w-1');
    await expect(writeCheckpoint(db.pool, 'w-1', row.epoch - 1, { evil: true })).rejects.toBeInstanceOf(
      StaleOwnerError,
    );
    await expect(writeCheckpoint(db.pool, 'w-1', row.epoch - 1, { evil: true })).rejects.toMatchObject({
      code: 'stale_owner',
      agentId: 'w-1',
    });
    expect((await client.longRunning.get('w-1')).checkpoint).not.toMatchObject({ evil: true });
  });

  it('a handler that throws is restarted with backoff and counted; the error is stored redacted', async () => {
    await client.longRunning.start({ id: 'f-1', kind: 'flaky' });
    await waitFor('3 attempts', () => seen.filter((s) => s.id === 'f-1').length >= 3);
    const row = await client.longRunning.get('f-1');
    expect(row.restartCount).toBe(2);
    expect(row.lastError).toContain('boom');
    expect(row.lastError).not.toContain('secret');
    expect(seen.filter((s) => s.id === 'f-1').map((s) => s.restartCount)).toEqual([0, 1, 2]);
    // Same ownership all along: restarts do not bump the epoch.
    expect(new Set(seen.filter((s) => s.id === 'f-1').map((s) => s.epoch)).size).toBe(1);
    expect(client.longRunning.metrics().agent_restarts_total).toBe(2);
  });

  it('a handler that returns by itself finishes the agent (inactive, no owner)', async () => {
    await client.longRunning.start({ id: 'o-1', kind: 'oneshot' });
    const row = await waitFor('o-1 finished', async () => {
      const r = await client.longRunning.get('o-1');
      return !r.active && r.ownerInstanceId === null ? r : null;
    });
    expect(row.checkpoint).toEqual({ done: true });
  });

  it('the owners view shows each agent with its lock holder as Postgres sees it', async () => {
    const rows = await db.query(`select * from agentpg_long_running_owners where agent_id = 'pre-1'`);
    expect(rows[0].lock_held).toBe(true);
    expect(rows[0].lock_owner_tag).toBe(client.instanceId);
    expect(rows[0].recorded_owner_instance_id).toBe(client.instanceId);
    const [locks] = await db.query(
      `select sum(n)::int as n, count(*)::int as sessions, max(n)::int as busiest from (
         select pid, count(*) as n from pg_locks
          where locktype = 'advisory' and classid = $1::bigint::oid and objsubid = 2
            and database = (select oid from pg_database where datname = current_database())
          group by pid) x`,
      [LOCK_NAMESPACE],
    );
    // The lock budget: one lock per shard whatever the number of agents, <= 1024 per session
    // (maxLocksPerSession): one lock session for a lone instance.
    expect(locks).toEqual({ n: 1024, sessions: 1, busiest: 1024 });
    const apps =
      await db.query(`select distinct application_name from pg_stat_activity where application_name like 'agentpg-lock:%'
      and datname = current_database()`);
    expect(apps).toEqual([{ application_name: `agentpg-lock:${client.instanceId}` }]);
  });

  it('bad input is a typed error', async () => {
    await expect(client.longRunning.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.longRunning.stop('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.longRunning.start({ id: 'pre-1', kind: 'flaky' })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.longRunning.start({ kind: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      client.longRunning.start({ kind: 'loop', config: [] as unknown as Record<string, unknown> }),
    ).rejects.toBeInstanceOf(ValidationError);
    const list = await client.longRunning.list({ kind: 'loop' });
    expect(list.map((a) => a.id).sort()).toEqual(['pre-1', 'w-1']);
  });

  it('stop() hands over: handlers save, no owner left, locks released', async () => {
    await client.stop();
    const m = client.longRunning.metrics();
    expect(m.agents_saved_on_shutdown).toBe(3); // pre-1, w-1, f-1
    expect(m.shutdown_duration_seconds).toBeGreaterThan(0);
    expect(m.agent_lock_held).toBe(0);
    const owned = await db.query(`select id from agentpg_long_running_agents where owner_instance_id is not null`);
    expect(owned).toEqual([]);
    const [pre] = await db.query(`select checkpoint from agentpg_long_running_agents where id = 'pre-1'`);
    expect(pre.checkpoint).toMatchObject({ final: true });
    const [locks] = await db.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = $1::bigint::oid
        and database = (select oid from pg_database where datname = current_database())`,
      [LOCK_NAMESPACE],
    );
    expect(locks.n).toBe(0);
    const open = await db.query(`select shard from agentpg_long_running_ownership_log where released_at is null`);
    expect(open).toEqual([]);
  });
});
