/**
 * instance_footprint: the database connections one instance holds (README "Connections"),
 * counted from pg_stat_activity: every backend of the metric's database that was not there before
 * the instance started, except the harness's own. One instance in this process, default pool
 * settings, an agent and a long-running kind (so it holds an ownership lock session too), the
 * in-process fake model.
 * - idle_connections: the most seen in samples every 50 ms over 5 s (3 s with --quick), once the
 *   start-up's extra pool connections passed the pool's idle timeout;
 * - peak_connections: the most seen in samples every 10 ms during a burst of 500 runs (one per
 *   session, enqueued at once, waited for);
 * - instances_at_default_max: floor((100 - superuser_reserved_connections) / idle_connections),
 *   how many such instances, idle, PostgreSQL's default max_connections carries; details and the
 *   table also give instances_at_default_max_all_loaded, the same with peak_connections (every
 *   instance at the peak of its own burst at once: the bound a server must be sized for when
 *   all instances may be loaded together; README "Connections").
 * The value is the default config's; details also hold the same measures with `poolSize: 2` (the
 * dense setting the README names) and each burst's runs/s, to see what the smaller pool costs.
 */
import pg from 'pg';
import { AgentPG } from '../../src/index.js';
import { POOL_IDLE_TIMEOUT_MS } from '../../src/db/connection.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import { HARNESS_APP, sleep, waitUntil, type BenchDatabase } from '../lib/database.js';

export interface FootprintValue {
  idle_connections: number;
  peak_connections: number;
  instances_at_default_max: number;
  instances_at_default_max_all_loaded: number;
}

const DEFAULT_MAX_CONNECTIONS = 100;
const BURST_RUNS = 500;

export async function measureFootprint(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<FootprintValue>> {
  const fake = await startFakeAnthropic({ responder: () => ({ text: 'ok' }), record: false });
  const watch = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await watch.connect();
  const baseline = (
    await watch.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database()`)
  ).rows.map((r) => r.pid);
  const sample = async () => {
    const { rows } = await watch.query<{ app: string; n: number }>(
      `select coalesce(application_name, '') as app, count(*)::int as n from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend'
          and application_name <> $1 and pid <> all($2::int[])
        group by 1`,
      [HARNESS_APP, baseline],
    );
    return { total: rows.reduce((n, r) => n + r.n, 0), byApp: Object.fromEntries(rows.map((r) => [r.app, r.n])) };
  };
  const peakWhile = async (during: Promise<unknown>, everyMs: number) => {
    let done = false;
    void during.finally(() => (done = true)).catch(() => {});
    let peak = { total: 0, byApp: {} as Record<string, number> };
    while (!done) {
      const s = await sample();
      if (s.total > peak.total) peak = s;
      await sleep(everyMs);
    }
    await during;
    return peak;
  };
  const reserved = Number(
    (await watch.query<{ v: string }>(`select current_setting('superuser_reserved_connections') as v`)).rows[0].v,
  );
  const maxConnections = Number(
    (await watch.query<{ v: string }>(`select current_setting('max_connections') as v`)).rows[0].v,
  );
  const instancesAt = (max: number, peak: number) => Math.floor((max - reserved) / Math.max(1, peak));
  /** One instance (`poolSize` unset: the default) idle, then under the burst; stopped after. */
  const measure = async (label: string, poolSize?: number) => {
    const instanceId = `footprint-${label}`;
    const client = new AgentPG({
      databaseUrl: db.url,
      instanceId,
      anthropic: { apiKey: 'bench-key', baseURL: fake.url },
      agents: [{ name: 'bench', model: 'claude-sonnet-5-5', maxTokens: 64 }],
      longRunning: [
        { kind: 'idle', handler: (c) => new Promise<void>((r) => c.signal.addEventListener('abort', () => r())) },
      ],
      poolSize,
      migrate: false,
      logger: createLogger({ level: 'warn' }),
    });
    try {
      await client.start();
      // The liveness session is the ownership member (agentpg-lock:) once the first sweep adopted it.
      await waitUntil(
        async () => ((await sample()).byApp[`agentpg-lock:${instanceId}`] ?? 0) > 0,
        30_000,
        'the lock session',
        50,
      );
      await sleep(POOL_IDLE_TIMEOUT_MS + 1000);
      const idleMs = ctx.quick ? 3000 : 5000;
      ctx.log(
        `instance_footprint (${label}, poolSize ${client.config.poolSize}): idle ${idleMs / 1000} s, then ${BURST_RUNS} runs`,
      );
      const idle = await peakWhile(sleep(idleMs), 50);
      const agent = client.agent('bench');
      const sessions: string[] = [];
      for (let i = 0; i < BURST_RUNS; i++)
        sessions.push(await agent.newSession({ tenantId: 'bench', identifier: `${label}-${i}` }));
      const t0 = performance.now();
      const burst = (async () => {
        const ids = await Promise.all(sessions.map((s) => agent.enqueue(s, 'Say ok.')));
        await Promise.all(ids.map((id) => client.runs.wait(id)));
      })();
      const peak = await peakWhile(burst, 10);
      const burstMs = performance.now() - t0;
      const strip = (byApp: Record<string, number>) =>
        Object.fromEntries(Object.entries(byApp).map(([k, v]) => [k.replace(instanceId, '<id>'), v]));
      return {
        pool_size: client.config.poolSize,
        idle_connections: idle.total,
        peak_connections: peak.total,
        instances_at_default_max: instancesAt(DEFAULT_MAX_CONNECTIONS, idle.total),
        instances_at_default_max_all_loaded: instancesAt(DEFAULT_MAX_CONNECTIONS, peak.total),
        instances_at_server_max_all_loaded: instancesAt(maxConnections, peak.total),
        burst_runs_per_s: Math.round((BURST_RUNS / burstMs) * 1000 * 10) / 10,
        idle_by_application: strip(idle.byApp),
        peak_by_application: strip(peak.byApp),
      };
    } finally {
      await client.stop().catch(() => {});
    }
  };
  try {
    const byDefault = await measure('default');
    // The dense setting the README names: poolSize 2, 4 connections at the peak.
    const pool2 = await measure('pool2', 2);
    return {
      value: {
        idle_connections: byDefault.idle_connections,
        peak_connections: byDefault.peak_connections,
        instances_at_default_max: byDefault.instances_at_default_max,
        instances_at_default_max_all_loaded: byDefault.instances_at_default_max_all_loaded,
      },
      details: {
        superuser_reserved_connections: reserved,
        server_max_connections: maxConnections,
        default_pool: byDefault,
        pool_size_2: pool2,
      },
    };
  } finally {
    await watch.end().catch(() => {});
    await fake.close().catch(() => {});
  }
}
