/**
 * failover_sigkill_ms and failover_partition_ms, on a cluster of three instance processes with
 * agentpg's default ownership settings.
 *
 * SIGKILL: the process running the long-running agent's handler is SIGKILLed; the time is from
 * just before the kill to the handler's start in another process (both wall clock). A replacement
 * process is started after each trial and the agent left to settle before the next kill.
 *
 * Redis baseline (seed 004), under the same kills: right before each kill, the doomed process also
 * takes a Redis lock `SET key NX PX 30000` as if it had owned it for a while (the last 10 s
 * refresh was a uniformly random 0–10 s ago). The harness then plays the other pods' recovery
 * sweep: every 1 s it tries `SET key NX PX 30000`. Time to acquisition = the baseline's failover.
 * Trials of 20–31 s each overlap (one key per kill), so they do not lengthen the run.
 *
 * Partition: every process reaches Postgres through its own TCP proxy; the owner's proxy freezes
 * (sockets left open, nothing forwarded). Time from the freeze to the handler's start elsewhere.
 * The partition then heals, so writes the cut-off owner had queued reach the server late.
 * Overlaps are counted three ways: handler intervals reported by the processes (wall clock),
 * agentpg's ownership log of the agent's shard, and fenced writes accepted from a stale epoch.
 */
import { randomBytes } from 'node:crypto';
import { wallClock } from '../lib/child.js';
import { InstanceCluster } from '../lib/cluster.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import { sleep, type BenchDatabase } from '../lib/database.js';
import { installFenceAudit, ownershipLogOverlaps, staleWritesAccepted } from '../lib/fence.js';
import { findOverlaps, intervalsFromEvents } from '../lib/overlap.js';
import { connectRedis, redisAvailable } from '../lib/redis.js';
import { max, percentile, round } from '../lib/stats.js';

const KIND = 'bench-lr';

export interface SigkillValue {
  p50: number | null;
  max: number | null;
  trials: number;
  redis_ttl_baseline_p50: number | null;
}

export async function measureFailoverSigkill(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<SigkillValue>> {
  const trials = ctx.quick ? 6 : 20;
  const notes: string[] = [];
  const agentId = 'failover-agent';
  const useRedis = await redisAvailable();
  if (!useRedis) notes.push('Redis is not reachable on 127.0.0.1:6379: the seed-004 baseline was skipped (redis_ttl_baseline_p50 = null)');
  const redis = useRedis ? await connectRedis() : null;
  const redisPrefix = `agentpg-bench:${randomBytes(4).toString('hex')}`;
  const redisResults: number[] = [];
  const redisPending: Array<Promise<void>> = [];
  let stopRedis = false;

  /** The other pods' recovery sweep: try the lock every 1 s (first try at a random phase). */
  const sweep = async (key: string, tKill: number) => {
    await sleep(Math.random() * 1000);
    while (!stopRedis) {
      if ((await redis!.command('SET', key, 'harness', 'NX', 'PX', 30000)) === 'OK') {
        redisResults.push(wallClock() - tKill);
        await redis!.command('DEL', key);
        return;
      }
      await sleep(1000);
    }
  };

  const cluster = new InstanceCluster('fo', () => ({ databaseUrl: db.url, longRunning: { kind: KIND, report: 'events' } }));
  const results: number[] = [];
  const failures: string[] = [];
  try {
    ctx.log(`failover_sigkill: 3 instances, ${trials} SIGKILLs of the owner`);
    const [first] = await cluster.spawn(3);
    await first.request({ type: 'lrStart', ids: [agentId], kind: KIND });
    for (let trial = 1; trial <= trials; trial++) {
      // Steady state: one owner, nothing moving for a while (a random extra so kills land at
      // random points of the heartbeat cycle).
      const owner = await cluster.waitStable(agentId, 1500 + Math.random() * 1000, 60_000);
      const victim = cluster.children.get(owner)!;
      const key = `${redisPrefix}:${trial}`;
      if (redis) await victim.request({ type: 'redisOwn', key, ttlMs: 30_000, refreshMs: 10_000, phaseMs: Math.floor(Math.random() * 10_000) });
      const tKill = wallClock();
      cluster.kill(owner, tKill);
      if (redis) redisPending.push(sweep(key, tKill));
      try {
        const started = await cluster.waitForStart(agentId, tKill, owner, 60_000);
        results.push(started.t - tKill);
      } catch (err) {
        failures.push(`trial ${trial}: ${(err as Error).message}`);
      }
      await cluster.spawn(1);
    }
    if (redisPending.length) {
      ctx.log('failover_sigkill: waiting for the Redis baseline locks to expire');
      await Promise.race([Promise.all(redisPending), sleep(45_000)]);
    }
  } finally {
    stopRedis = true;
    await cluster.stopAll();
    await redis?.close().catch(() => {});
  }
  if (failures.length) notes.push(...failures);
  return {
    value: {
      p50: round(percentile(results, 50), 0),
      max: round(max(results), 0),
      trials: results.length,
      redis_ttl_baseline_p50: round(percentile(redisResults, 50), 0),
    },
    details: {
      samples_ms: results.map((x) => Math.round(x)),
      redis_samples_ms: redisResults.map((x) => Math.round(x)),
      redis_trials: redisResults.length,
      failed_trials: failures.length,
    },
    notes,
  };
}

export interface PartitionValue {
  p50: number | null;
  max: number | null;
  overlaps: number | null;
}

export async function measureFailoverPartition(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<PartitionValue>> {
  const trials = ctx.quick ? 1 : 3;
  const agentId = 'partition-agent';
  const notes: string[] = [];
  await installFenceAudit(db);
  const cluster = new InstanceCluster(
    'pt',
    () => ({ databaseUrl: db.url, longRunning: { kind: KIND, report: 'events', fencedEveryMs: 200 } }),
    { proxied: true },
  );
  const results: number[] = [];
  const failures: string[] = [];
  const lostAfterFreeze: number[] = [];
  const timelines: string[][] = [];
  let staleRejected = 0;
  try {
    ctx.log(`failover_partition: 3 instances behind TCP proxies, ${trials} partition(s) of the owner`);
    const [first] = await cluster.spawn(3);
    await first.request({ type: 'lrStart', ids: [agentId], kind: KIND });
    for (let trial = 1; trial <= trials; trial++) {
      const owner = await cluster.waitStable(agentId, 1500 + Math.random() * 1000, 90_000);
      const proxy = cluster.proxies.get(owner)!;
      const tFreeze = wallClock();
      proxy.freeze();
      try {
        const started = await cluster.waitForStart(agentId, tFreeze, owner, 60_000);
        results.push(started.t - tFreeze);
      } catch (err) {
        failures.push(`trial ${trial}: ${(err as Error).message}`);
      }
      // Heal after a while: the cut-off owner's queued writes now reach the server.
      await sleep(2000);
      const stop = cluster.events.find((e) => e.type === 'stop' && e.owner === owner && e.agentId === agentId && e.t > tFreeze);
      if (stop) lostAfterFreeze.push(stop.t - tFreeze);
      proxy.thaw();
      await sleep(5000);
      timelines.push(
        cluster.events
          .filter((e) => e.agentId === agentId && e.t > tFreeze - 1000)
          .map((e) => `${Math.round(e.t - tFreeze)} ms ${e.owner} ${e.type} epoch ${e.epoch}${e.reason ? ` (${e.reason})` : ''}`),
      );
    }
    for (const c of cluster.alive()) {
      staleRejected += Number((await c.request({ type: 'lrCount' }).catch(() => ({ staleRejections: 0 }))).staleRejections ?? 0);
    }
  } finally {
    await cluster.stopAll();
  }
  const intervals = intervalsFromEvents(
    cluster.events.map((e) => ({ ...e })),
    cluster.killedAt,
  );
  const handlerOverlaps = findOverlaps(intervals.filter((i) => i.agentId === agentId));
  const [{ shard }] = await db.query<{ shard: number }>(`select shard from agentpg_long_running_agents where id = $1`, [agentId]);
  const log = await ownershipLogOverlaps(db.pool, [shard]);
  if (!log.available) notes.push('agentpg_long_running_ownership_log is missing: only handler intervals were checked');
  const stale = await staleWritesAccepted(db.pool);
  if (failures.length) notes.push(...failures);
  if (stale.accepted > 0) notes.push(`${stale.accepted} fenced writes were accepted from a stale owner`);
  return {
    value: {
      p50: round(percentile(results, 50), 0),
      max: round(max(results), 0),
      overlaps: handlerOverlaps.length + log.overlaps.length,
    },
    details: {
      trials: results.length,
      samples_ms: results.map((x) => Math.round(x)),
      old_owner_handler_stopped_after_ms: lostAfterFreeze.map((x) => Math.round(x)),
      timelines_from_freeze: timelines,
      handler_overlaps: handlerOverlaps.length,
      ownership_log_overlaps: log.overlaps.length,
      ownership_log_intervals: log.intervals,
      fenced_writes: stale.total,
      stale_fenced_writes_accepted: stale.accepted,
      stale_fenced_writes_rejected: staleRejected,
    },
    notes,
  };
}

