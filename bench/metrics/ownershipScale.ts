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

/**
 * Running handlers per process, polled over IPC. A process busy starting thousands of handlers may
 * not answer for a while (its event loop is the one that starts them): `fresh` is false unless
 * every live process answered this round, and only fresh rounds count.
 */
async function runningCounts(
  children: Child[],
  stats: { unanswered: number },
): Promise<{ counts: number[]; fresh: boolean }> {
  let fresh = true;
  const counts = await Promise.all(
    children.map(async (c) => {
      if (c.exited) return 0;
      try {
        return Number((await c.request({ type: 'lrCount' }, 5_000)).running);
      } catch {
        stats.unanswered++;
        fresh = false;
        return 0;
      }
    }),
  );
  return { counts, fresh };
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
  const cluster = new InstanceCluster('scale', () => ({
    databaseUrl: db.url,
    longRunning: { kind: KIND, report: 'count' },
  }));
  try {
    ctx.log(`ownership_scale: starting ${instances} instances`);
    // Not waiting for `ready`: start() includes the first restore sweep, which is part of what
    // is measured. The processes answer the handler-count polls from the moment they exist.
    const children = await cluster.spawn(instances, { waitReady: false });
    // t0: the first instance calls client.start() (reported just before it).
    const t0 = Math.min(...children.map((c) => Number(c.messages.find((m) => m.type === 'starting')!.t)));
    let allOwnedAt: number | null = null;
    let counts: number[] = [];
    let maxSimultaneous = 0;
    const poll = { unanswered: 0 };
    const deadline = Date.now() + (ctx.quick ? 120_000 : 300_000);
    while (Date.now() < deadline) {
      const r = await runningCounts(children, poll);
      if (r.fresh) {
        counts = r.counts;
        const sum = counts.reduce((a, b) => a + b, 0);
        maxSimultaneous = Math.max(maxSimultaneous, sum);
        if (sum >= agents) {
          allOwnedAt = wallClock();
          break;
        }
      }
      await sleep(100);
    }
    if (allOwnedAt === null)
      notes.push(`only ${counts.reduce((a, b) => a + b, 0)} of ${agents} agents were running at the deadline`);
    const atAllOwned = maxOverMean(counts);
    // Let rebalancing finish: fresh counts unchanged for 3 s (at most 60 s).
    let stableSince = Date.now();
    let last = counts.join(',');
    const settleDeadline = Date.now() + 60_000;
    while (Date.now() < settleDeadline && Date.now() - stableSince < 3000) {
      await sleep(250);
      const r = await runningCounts(children, poll);
      if (!r.fresh) {
        stableSince = Date.now();
        continue;
      }
      counts = r.counts;
      maxSimultaneous = Math.max(
        maxSimultaneous,
        counts.reduce((a, b) => a + b, 0),
      );
      const now = counts.join(',');
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
    }
    if (Date.now() - stableSince < 3000)
      notes.push('the per-instance counts were still changing 60 s after all agents were owned');
    // More handlers running at once than agents exist = some agent ran on two instances at once.
    if (maxSimultaneous > agents)
      notes.push(`${maxSimultaneous - agents} more handlers were running at once than there are agents`);
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
        count_polls_unanswered_within_5s: poll.unanswered,
        max_simultaneous_handlers: maxSimultaneous,
        instance_start_ms: children.map((c) =>
          Math.round(Number(c.messages.find((m) => m.type === 'ready')?.startMs ?? NaN)),
        ),
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
  const cluster = new InstanceCluster('rss', () => ({
    databaseUrl: db.url,
    longRunning: { kind: KIND, report: 'count' },
  }));
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
