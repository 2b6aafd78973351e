/**
 * ownership_scale and rss_mb_10k_agents, on the benchmark's own server with default settings
 * (max_connections 100, max_locks_per_transaction 64).
 *
 * The agents are created with one INSERT ... SELECT into agentpg_long_running_agents (the shard
 * trigger assigns shards as for client.longRunning.start(); 100,000 API calls would measure the
 * harness). Their handlers do nothing but wait for their abort signal; each process counts its
 * running handlers and the harness polls the counts over IPC (no database reads of its own).
 *
 * ownership_scale: 4 instance processes start at once; all_owned_ms runs from the first one's
 * start() call until the handlers running across all of them add up to every agent.
 * max_over_mean = busiest instance's handler count / mean, once the counts stop moving (3 s
 * unchanged, at most 60 s after all were owned: rebalancing may continue after the first owner
 * grabbed more than its share).
 *
 * rss_mb_10k_agents: one instance process owning 10,000 idle agents: VmRSS from
 * /proc/<pid>/status once all handlers run and the count has been stable for 3 s.
 */
import fs from 'node:fs';
import { wallClock, type Child } from '../lib/child.js';
import { InstanceCluster } from '../lib/cluster.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import { sleep, type BenchDatabase } from '../lib/database.js';
import { maxOverMean, round } from '../lib/stats.js';

const KIND = 'bench-idle';

async function insertAgents(db: BenchDatabase, count: number, prefix: string): Promise<void> {
  // Batches keep each transaction modest; the shard trigger runs per row.
  const batch = 20_000;
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    await db.query(
      `insert into agentpg_long_running_agents (id, kind) select $1 || g, $2 from generate_series($3::int, $4::int) g`,
      [`${prefix}-`, KIND, from, to],
    );
  }
}

async function runningCounts(children: Child[]): Promise<number[]> {
  return Promise.all(
    children.map(async (c) => {
      if (c.exited) return 0;
      const r = await c.request({ type: 'lrCount' }, 30_000);
      return Number(r.running);
    }),
  );
}

export interface ScaleValue {
  agents: number;
  instances: number;
  all_owned_ms: number | null;
  max_over_mean: number | null;
}

export async function measureOwnershipScale(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<ScaleValue>> {
  const agents = ctx.quick ? 20_000 : 100_000;
  const instances = 4;
  const notes: string[] = [];
  ctx.log(`ownership_scale: inserting ${agents} long-running agents`);
  await insertAgents(db, agents, 'scale');
  const cluster = new InstanceCluster('scale', () => ({ databaseUrl: db.url, longRunning: { kind: KIND, report: 'count' } }));
  try {
    ctx.log(`ownership_scale: starting ${instances} instances`);
    const spawning = cluster.spawn(instances);
    const children = () => [...cluster.children.values()];
    // t0: the first instance calls client.start() (reported just before it).
    const t0 = await new Promise<number>((resolve) => {
      const tick = setInterval(() => {
        const starts = children()
          .map((c) => c.messages.find((m) => m.type === 'starting'))
          .filter(Boolean)
          .map((m) => Number(m!.t));
        if (starts.length) {
          clearInterval(tick);
          resolve(Math.min(...starts));
        }
      }, 5);
    });
    await spawning;
    let allOwnedAt: number | null = null;
    let counts: number[] = [];
    const deadline = Date.now() + (ctx.quick ? 120_000 : 300_000);
    while (Date.now() < deadline) {
      counts = await runningCounts(children());
      if (counts.reduce((a, b) => a + b, 0) >= agents) {
        allOwnedAt = wallClock();
        break;
      }
      await sleep(100);
    }
    if (allOwnedAt === null) notes.push(`only ${counts.reduce((a, b) => a + b, 0)} of ${agents} agents were running at the deadline`);
    const atAllOwned = maxOverMean(counts);
    // Let rebalancing finish: counts unchanged for 3 s (at most 60 s).
    let stableSince = Date.now();
    let last = counts.join(',');
    const settleDeadline = Date.now() + 60_000;
    while (Date.now() < settleDeadline && Date.now() - stableSince < 3000) {
      await sleep(250);
      counts = await runningCounts(children());
      const now = counts.join(',');
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
    }
    const settledAfterMs = allOwnedAt === null ? null : wallClock() - allOwnedAt - (Date.now() - stableSince);
    return {
      value: {
        agents,
        instances,
        all_owned_ms: allOwnedAt === null ? null : Math.round(allOwnedAt - t0),
        max_over_mean: round(maxOverMean(counts), 3),
      },
      details: {
        per_instance: counts,
        max_over_mean_when_all_owned: round(atAllOwned, 3),
        balanced_after_all_owned_ms: settledAfterMs === null ? null : Math.max(0, Math.round(settledAfterMs)),
        instance_start_ms: children().map((c) => Math.round(Number(c.messages.find((m) => m.type === 'ready')?.startMs ?? NaN))),
      },
      notes,
    };
  } finally {
    await cluster.stopAll();
  }
}

function vmRssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function measureRss(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<number | null>> {
  const agents = 10_000;
  const cluster = new InstanceCluster('rss', () => ({ databaseUrl: db.url, longRunning: { kind: KIND, report: 'count' } }));
  try {
    ctx.log(`rss_mb_10k_agents: one instance, ${agents} idle agents`);
    const [child] = await cluster.spawn(1);
    await sleep(2000);
    const idleKb = vmRssKb(child.pid);
    await insertAgents(db, agents, 'rss');
    const deadline = Date.now() + 120_000;
    let running = 0;
    while (Date.now() < deadline) {
      running = Number((await child.request({ type: 'lrCount' })).running);
      if (running >= agents) break;
      await sleep(200);
    }
    await sleep(3000);
    const kb = vmRssKb(child.pid);
    const notes = running < agents ? [`only ${running} of ${agents} agents were running`] : [];
    return {
      value: kb === null ? null : round(kb / 1024, 1),
      details: {
        agents_running: running,
        rss_mb_idle_instance: idleKb === null ? null : round(idleKb / 1024, 1),
        kb_per_agent: kb !== null && idleKb !== null ? round((kb - idleKb) / agents, 2) : null,
      },
      notes,
    };
  } finally {
    await cluster.stopAll();
  }
}
