/**
 * The connection footprint of one instance (README "Connections", src/db/connection.ts): counted
 * from pg_stat_activity, every backend of the database that was not there before the instance
 * started (so a connection nobody named still counts). One instance with default pool settings,
 * an agent and a long-running kind (so it holds shard locks too):
 * - idle: at most 4 — the pool (≤ 2), the event listener, and ONE lock session holding both the
 *   liveness lock and the shard locks; no pg-boss pool of its own, no separate liveness session;
 * - a 500-run burst: at most 8 at any sample, the pool at most its size.
 * Connection counts follow from the code (pools, sessions), not from timing, so they are asserted
 * here; the benchmark reports the same numbers (bench/metrics/footprint.ts).
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import type { AgentPG } from '../../src/index.js';
import { LIVENESS_NAMESPACE } from '../../src/cluster/liveness.js';
import { POOL_IDLE_TIMEOUT_MS } from '../../src/db/connection.js';
import { LOCK_NAMESPACE } from '../../src/ownership/options.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

const WATCH_APP = 'footprint-watch';
let watch: pg.Client;
let baseline: number[] = [];
let client: AgentPG;

interface Sample {
  total: number;
  byApp: Record<string, number>;
}

async function sample(): Promise<Sample> {
  const { rows } = await watch.query<{ app: string; n: number }>(
    `select coalesce(application_name, '') as app, count(*)::int as n
       from pg_stat_activity
      where datname = current_database() and backend_type = 'client backend'
        and pid <> pg_backend_pid() and pid <> all($1::int[])
      group by 1`,
    [baseline],
  );
  const byApp: Record<string, number> = {};
  for (const r of rows) byApp[r.app.replace(client.instanceId, '<id>')] = r.n;
  return { total: rows.reduce((n, r) => n + r.n, 0), byApp };
}

/** The largest sample taken every `everyMs` while `during` runs (or for `ms`). */
async function peakWhile(during: Promise<unknown>, everyMs: number): Promise<Sample> {
  let done = false;
  void during.finally(() => (done = true)).catch(() => {});
  let peak: Sample = { total: 0, byApp: {} };
  while (!done) {
    const s = await sample();
    if (s.total > peak.total) peak = s;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await during;
  return peak;
}

test.beforeAll(async ({ db, fake, startClient }) => {
  fake.setResponder(() => ({ text: 'ok' }));
  watch = new pg.Client({ connectionString: db.url, application_name: WATCH_APP });
  await watch.connect();
  const { rows } = await watch.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database()`,
  );
  baseline = rows.map((r) => r.pid);
  client = await startClient({
    instanceId: 'footprint',
    agents: [{ name: 'echo', model: 'claude-fake-model', maxTokens: 64 }],
    longRunning: [
      {
        kind: 'idle',
        handler: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
      },
    ],
  });
});
afterAll(async () => {
  await watch?.end();
});

/** pids of the backends holding an advisory lock of `classid` (liveness or shard locks). */
async function lockHolders(classid: number): Promise<number[]> {
  const { rows } = await watch.query<{ pid: number }>(
    `select distinct pid from pg_locks
      where locktype = 'advisory' and classid = $1::int::oid and database = (select oid from pg_database where datname = current_database())`,
    [classid],
  );
  return rows.map((r) => r.pid);
}

it('idle: at most 4 connections — pool, listener, one lock session holding liveness and shard locks', async () => {
  expect(client.config.poolSize).toBe(6);
  // The liveness session becomes the ownership member once the first sweep adopted it.
  await until(async () => (await sample()).byApp['agentpg-lock:<id>'] === 1);
  // Start-up's extra pool connections are closed after the pool's idle timeout.
  await new Promise((r) => setTimeout(r, POOL_IDLE_TIMEOUT_MS + 1000));
  const peak = await peakWhile(new Promise((r) => setTimeout(r, 3000)), 50);
  // pg-boss runs on agentpg's pool: no connection of its own; no separate liveness session.
  expect(Object.keys(peak.byApp).sort()).toEqual(['agentpg-listener', 'agentpg-lock:<id>', 'agentpg:<id>']);
  expect(peak.byApp['agentpg-listener']).toBe(1);
  expect(peak.byApp['agentpg-lock:<id>']).toBe(1);
  expect(peak.byApp['agentpg:<id>']).toBeLessThanOrEqual(2);
  expect(peak.total, JSON.stringify(peak.byApp)).toBeLessThanOrEqual(4);
  // The one lock session holds the liveness lock (keyed by its pid) and all 1024 shard locks, and
  // the listener holds none: a LISTENing backend must never carry a lease.
  const [{ pid }] = (
    await watch.query<{ pid: number }>(
      `select pid from pg_stat_activity where application_name = $1 and datname = current_database()`,
      [`agentpg-lock:${client.instanceId}`],
    )
  ).rows;
  expect(await lockHolders(LIVENESS_NAMESPACE)).toEqual([pid]);
  expect(await lockHolders(LOCK_NAMESPACE)).toEqual([pid]);
  const [{ liveness_pid }] = (
    await watch.query<{ liveness_pid: number }>(`select liveness_pid from agentpg_instances where id = $1`, [
      client.instanceId,
    ])
  ).rows;
  expect(liveness_pid).toBe(pid);
});

it('a 500-run burst: at most 8 connections at any moment, the pool at most its size', async () => {
  const agent = client.agent('echo');
  const sessions = await Promise.all(
    Array.from({ length: 500 }, (_, i) => agent.newSession({ tenantId: 't1', identifier: `u${i}` })),
  );
  const burst = (async () => {
    const ids = await Promise.all(sessions.map((s) => agent.enqueue(s, 'hi')));
    await Promise.all(ids.map((id) => client.runs.wait(id)));
    return ids;
  })();
  const peak = await peakWhile(burst, 10);
  const ids = await burst;
  const [{ n }] = (
    await watch.query<{ n: number }>(
      `select count(*)::int as n from agentpg_runs where id = any($1) and state = 'completed'`,
      [ids],
    )
  ).rows;
  expect(n).toBe(500);
  // The pool was used to its size: the burst did load it (this is not an idle measurement).
  expect(peak.byApp['agentpg:<id>']).toBeGreaterThan(2);
  expect(peak.byApp['agentpg:<id>']).toBeLessThanOrEqual(client.config.poolSize);
  expect(peak.total, JSON.stringify(peak.byApp)).toBeLessThanOrEqual(8);
});
