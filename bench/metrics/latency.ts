/**
 * enqueue_to_start_ms and event_latency_ms. Wall clocks are performance.timeOrigin +
 * performance.now() in every process (one machine, one system clock).
 *
 * enqueue_to_start: an instance (child process) enqueues one run at a time on an idle system (the
 * next only after the previous one completed) and reports when enqueue() returned; the harness
 * LISTENs on agentpg_run_state_changed and stamps the `running` notification of that run when it
 * arrives. The difference is enqueue-returned →
 * running-committed plus one NOTIFY delivery (~0.1 ms). A pick-up that commits before enqueue()
 * has even returned to its caller counts as 0.
 *
 * event_latency: the harness commits state changes of a run (plain UPDATEs that fire the same
 * trigger the runtime's do) and stamps the moment COMMIT returned; a subscriber instance in
 * another process stamps its `client.events.subscribe('run_state_changed')` callback.
 */
import pg from 'pg';
import { Child, wallClock } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { HARNESS_APP, sleep, waitUntil, type BenchDatabase } from '../lib/database.js';
import { round, summarize } from '../lib/stats.js';

export interface LatencyValue {
  p50: number | null;
  p99: number | null;
}

export async function measureEnqueueToStart(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<LatencyValue>> {
  const samples = 220;
  const warmup = 20;
  const listener = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await listener.connect();
  const runningAt = new Map<string, number>();
  const finished = new Set<string>();
  listener.on('notification', (msg) => {
    const t = wallClock();
    try {
      const p = JSON.parse(msg.payload ?? '{}') as { run_id?: string; state?: string };
      if (!p.run_id) return;
      if (p.state === 'running' && !runningAt.has(p.run_id)) runningAt.set(p.run_id, t);
      if (p.state === 'completed' || p.state === 'failed' || p.state === 'cancelled') finished.add(p.run_id);
    } catch {
      // not ours
    }
  });
  await listener.query('LISTEN agentpg_run_state_changed');
  const worker = new Child(workerScript('instance'), {
    label: 'agentpg-e2s',
    env: { BENCH_WORKER: JSON.stringify({ databaseUrl: db.url, instanceId: 'bench-e2s', modelUrl: ctx.modelUrl, agents: true }) },
  });
  try {
    await worker.waitFor((m) => m.type === 'ready', 60_000, 'instance ready');
    ctx.log(`enqueue_to_start: ${samples} runs, one at a time`);
    const enqueued: Array<{ runId: string; t: number }> = [];
    for (let i = 0; i < samples; i++) {
      const r = (await worker.request({ type: 'enqueueOne', agent: 'bench', prompt: 'Say ok.' })) as unknown as { runId: string; t: number };
      enqueued.push(r);
      // Idle system: the next run is enqueued only once this one has finished, plus a pause.
      await waitUntil(async () => finished.has(r.runId), 30_000, `run ${r.runId} to finish`, 2);
      await sleep(10);
    }
    const raw = enqueued.slice(warmup).map((e) => runningAt.get(e.runId)! - e.t);
    const lat = raw.map((x) => Math.max(0, x));
    const s = summarize(lat);
    return {
      value: { p50: round(s.p50, 2), p99: round(s.p99, 2) },
      details: { samples: lat.length, warmup_discarded: warmup, p90: round(s.p90, 2), max: round(s.max, 2), mean: round(s.mean, 2), started_before_enqueue_returned: raw.filter((x) => x < 0).length },
    };
  } finally {
    await worker.request({ type: 'stop' }, 30_000).catch(() => worker.kill());
    await listener.end().catch(() => {});
  }
}

export async function measureEventLatency(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<LatencyValue>> {
  const runs = 110; // two timed transitions each (queued → running → completed)
  const warmupRuns = 10;
  const subscriber = new Child(workerScript('instance'), {
    label: 'subscriber',
    env: { BENCH_WORKER: JSON.stringify({ databaseUrl: db.url, instanceId: 'bench-subscriber', subscribeEvents: true }) },
  });
  const c = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await c.connect();
  try {
    await subscriber.waitFor((m) => m.type === 'ready', 60_000, 'subscriber ready');
    ctx.log(`event_latency: ${runs * 2} state changes, subscriber in another process`);
    const callbacks = new Map<string, number>();
    subscriber.on((m) => {
      if (m.type === 'event') callbacks.set(`${m.runId}:${m.state}`, m.t as number);
    });
    const [{ id: sessionId }] = (
      await c.query<{ id: string }>(`insert into agentpg_sessions (tenant_id, identifier) values ('bench-tenant', 'events') returning id`)
    ).rows;
    const commits: Array<{ key: string; t: number; warm: boolean }> = [];
    for (let i = 0; i < runs; i++) {
      const [{ id }] = (
        await c.query<{ id: string }>(
          `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'bench-events', 'bench-tenant', 'x') returning id`,
          [sessionId],
        )
      ).rows;
      await sleep(5);
      await c.query(`update agentpg_runs set state = 'running', started_at = now() where id = $1`, [id]);
      commits.push({ key: `${id}:running`, t: wallClock(), warm: i < warmupRuns });
      await sleep(5);
      await c.query(`update agentpg_runs set state = 'completed', finalized_at = now() where id = $1`, [id]);
      commits.push({ key: `${id}:completed`, t: wallClock(), warm: i < warmupRuns });
      await sleep(5);
    }
    await waitUntil(async () => commits.every((x) => callbacks.has(x.key)), 30_000, 'every event callback');
    const lat = commits.filter((x) => !x.warm).map((x) => Math.max(0, callbacks.get(x.key)! - x.t));
    const s = summarize(lat);
    return {
      value: { p50: round(s.p50, 2), p99: round(s.p99, 2) },
      details: { samples: lat.length, p90: round(s.p90, 2), max: round(s.max, 2), mean: round(s.mean, 2) },
    };
  } finally {
    await subscriber.request({ type: 'stop' }, 30_000).catch(() => subscriber.kill());
    await c.end().catch(() => {});
  }
}
