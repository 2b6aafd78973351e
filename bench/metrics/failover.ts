/**
 * failover_sigkill_ms and failover_partition_ms, on a cluster of three instance processes with
 * agentpg's default ownership settings.
 *
 * SIGKILL: the process running the long-running agent's handler is SIGKILLed; the time is from
 * just before the kill to the handler's start in another process (both wall clock). A replacement
 * process is started after each trial and the agent left to settle before the next kill.
 *
 * Redis baseline (a TTL lock per agent), timed at the same kills but compared with the partition: right before
 * each kill, the doomed process also takes a Redis lock `SET key NX PX 30000` as if it had owned
 * it for a while (the last 10 s refresh was a uniformly random 0–10 s ago). The harness then plays
 * the other pods' recovery sweep: every 1 s it tries `SET key NX PX 30000`. Time to acquisition =
 * the baseline's failover. Nothing but the TTL frees such a lock, so a killed and a lost owner
 * are the same event for it; for agentpg they are not (a kill closes its sockets, which the server
 * sees at once), so the like-for-like comparison is the lost owner: failover_partition_ms.
 * Trials of 20–31 s each overlap (one key per kill), so they do not lengthen the run.
 *
 * Partition (same cluster, after the kills): every process reaches Postgres through its own TCP
 * proxy (transparent while not frozen); the owner's proxy freezes
 * (sockets left open, nothing forwarded). Time from the freeze to the handler's start elsewhere.
 * The partition then heals, so writes the cut-off owner had queued reach the server late.
 * Overlaps are counted three ways: handler intervals reported by the processes (wall clock),
 * agentpg's ownership log of the agent's shard, and fenced writes accepted from a stale epoch.
 */
import { randomBytes } from 'node:crypto';
import { wallClock } from '../lib/child.js';
import { InstanceCluster } from '../lib/cluster.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import { sleep, waitUntil, type BenchDatabase } from '../lib/database.js';
import { installFenceAudit, ownershipLogOverlaps, staleWritesAccepted } from '../lib/fence.js';
import { findOverlaps, intervalsFromEvents } from '../lib/overlap.js';
import { connectRedis, redisAvailable, type RedisClient } from '../lib/redis.js';
import { max, percentile, round } from '../lib/stats.js';

const KIND = 'bench-lr';
const SIGKILL_TRIALS_QUICK = 5;

export interface SigkillValue {
  p50: number | null;
  max: number | null;
  trials: number;
}

export interface PartitionValue {
  p50: number | null;
  max: number | null;
  overlaps: number | null;
  /** Filled in by the harness when the Redis baseline (timed at the kills) has finished. */
  redis_ttl_baseline_p50: number | null;
}

export interface FailoverResults {
  sigkill: MetricResult<SigkillValue> | null;
  partition: MetricResult<PartitionValue> | null;
  /** The Redis baseline finishes ~30 s after the last kill; the harness goes on meanwhile. */
  redisBaseline: Promise<{ p50: number | null; samples: number[]; note: string | null }>;
}

/** Both failover metrics on one cluster of three proxied instance processes. */
export async function measureFailover(
  ctx: BenchContext,
  db: BenchDatabase,
  which: { sigkill: boolean; partition: boolean },
): Promise<FailoverResults> {
  await installFenceAudit(db);
  const cluster = new InstanceCluster(
    'fo',
    // Fenced writes only matter for the partition; they run all along (a real agent writes).
    () => ({ databaseUrl: db.url, longRunning: { kind: KIND, report: 'events', fencedEveryMs: 200 } }),
    { proxied: true },
  );
  let redis: RedisClient | null = null;
  const out: FailoverResults = {
    sigkill: null,
    partition: null,
    redisBaseline: Promise.resolve({ p50: null, samples: [], note: null }),
  };
  try {
    if (which.sigkill && (await redisAvailable())) redis = await connectRedis();
    const [first] = await cluster.spawn(3);
    await first.request({ type: 'lrStart', ids: ['failover-agent', 'partition-agent'], kind: KIND });
    if (which.sigkill) {
      const r = await sigkillTrials(ctx, cluster, redis);
      out.sigkill = r.result;
      out.redisBaseline = r.redis;
    }
    if (which.partition) out.partition = await partitionTrials(ctx, db, cluster);
  } finally {
    await cluster.stopAll();
  }
  const client = redis;
  if (client) void out.redisBaseline.finally(() => client.close().catch(() => {}));
  return out;
}

async function sigkillTrials(
  ctx: BenchContext,
  cluster: InstanceCluster,
  redis: RedisClient | null,
): Promise<{ result: MetricResult<SigkillValue>; redis: FailoverResults['redisBaseline'] }> {
  const trials = ctx.quick ? SIGKILL_TRIALS_QUICK : 20;
  const agentId = 'failover-agent';
  const notes: string[] = [];
  const redisPrefix = `agentpg-bench:${randomBytes(4).toString('hex')}`;
  const redisResults: number[] = [];
  const redisPending: Array<Promise<void>> = [];
  let stopRedis = false;

  /** The other pods' recovery sweep: try the lock every 1 s (first try at a random phase). */
  const sweep = async (key: string, tKill: number) => {
    await sleep(Math.random() * 1000);
    while (!stopRedis) {
      const r = await redis!.command('SET', key, 'harness', 'NX', 'PX', 30000).catch(() => null);
      if (r === 'OK') {
        redisResults.push(wallClock() - tKill);
        await redis!.command('DEL', key).catch(() => {});
        return;
      }
      await sleep(1000);
    }
  };

  const results: number[] = [];
  const failures: string[] = [];
  const replacements: Promise<unknown>[] = [];
  ctx.log(`failover_sigkill: 3 instances, ${trials} SIGKILLs of the owner${redis ? ' (and of its Redis lock)' : ''}`);
  for (let trial = 1; trial <= trials; trial++) {
    // Steady state: one owner, nothing moving for a while (a random extra so kills land at
    // random points of the heartbeat cycle).
    const owner = await cluster.waitStable(agentId, 1500 + Math.random() * 1000, 60_000);
    const victim = cluster.children.get(owner)!;
    const key = `${redisPrefix}:${trial}`;
    if (redis)
      await victim.request({
        type: 'redisOwn',
        key,
        ttlMs: 30_000,
        refreshMs: 10_000,
        phaseMs: Math.floor(Math.random() * 10_000),
      });
    const tKill = wallClock();
    cluster.kill(owner, tKill);
    if (redis) redisPending.push(sweep(key, tKill));
    try {
      const started = await cluster.waitForStart(agentId, tKill, owner, 60_000);
      results.push(started.t - tKill);
    } catch (err) {
      failures.push(`trial ${trial}: ${(err as Error).message}`);
    }
    // The replacement starts in the background, as a restarted pod would; the next trial waits for
    // the agent to be stable on one owner anyway, and for at least two other processes.
    replacements.push(
      cluster.spawn(1).catch((err) => void failures.push(`replacement: ${(err as Error).message.split('\n')[0]}`)),
    );
    await waitUntil(
      async () => cluster.alive().filter((c) => c.messages.some((m) => m.type === 'ready')).length >= 3,
      60_000,
      'a replacement',
    );
  }
  await Promise.all(replacements);
  if (failures.length) notes.push(...failures);
  const redisDone = (async () => {
    if (!redis) {
      return {
        p50: null,
        samples: [],
        note: 'Redis is not reachable on 127.0.0.1:6379: the Redis TTL lock baseline was skipped (redis_ttl_baseline_p50 = null)',
      };
    }
    // Every lock expires within 30 s of its kill; give up 45 s after the last one.
    await Promise.race([Promise.all(redisPending), sleep(45_000)]);
    stopRedis = true;
    return { p50: round(percentile(redisResults, 50), 0), samples: redisResults.map((x) => Math.round(x)), note: null };
  })();
  return {
    result: {
      value: {
        p50: round(percentile(results, 50), 0),
        max: round(max(results), 0),
        trials: results.length,
      },
      details: { samples_ms: results.map((x) => Math.round(x)), failed_trials: failures.length },
      notes,
    },
    redis: redisDone,
  };
}

async function partitionTrials(
  ctx: BenchContext,
  db: BenchDatabase,
  cluster: InstanceCluster,
): Promise<MetricResult<PartitionValue>> {
  const trials = ctx.quick ? 1 : 3;
  const agentId = 'partition-agent';
  const notes: string[] = [];
  const results: number[] = [];
  const failures: string[] = [];
  const lostAfterFreeze: number[] = [];
  const timelines: string[][] = [];
  let staleRejected = 0;
  ctx.log(`failover_partition: ${trials} partition(s) of the owner by its TCP proxy`);
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
    // Heal after a while: the cut-off owner's queued writes now reach the server (and must be
    // rejected by the fence).
    await sleep(1000);
    const stop = cluster.events.find(
      (e) => e.type === 'stop' && e.owner === owner && e.agentId === agentId && e.t > tFreeze,
    );
    if (stop) lostAfterFreeze.push(stop.t - tFreeze);
    proxy.thaw();
    await sleep(ctx.quick ? 3000 : 5000);
    timelines.push(
      cluster.events
        .filter((e) => e.agentId === agentId && e.t > tFreeze - 1000)
        .map(
          (e) =>
            `${Math.round(e.t - tFreeze)} ms ${e.owner} ${e.type} epoch ${e.epoch}${e.reason ? ` (${e.reason})` : ''}`,
        ),
    );
  }
  for (const c of cluster.alive()) {
    staleRejected += Number(
      (await c.request({ type: 'lrCount' }).catch(() => ({ staleRejections: 0 }))).staleRejections ?? 0,
    );
  }
  const intervals = intervalsFromEvents(
    cluster.events.map((e) => ({ ...e })),
    cluster.killedAt,
  );
  const handlerOverlaps = findOverlaps(intervals.filter((i) => i.agentId === agentId));
  const [{ shard }] = await db.query<{ shard: number }>(`select shard from agentpg_long_running_agents where id = $1`, [
    agentId,
  ]);
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
      redis_ttl_baseline_p50: null,
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
