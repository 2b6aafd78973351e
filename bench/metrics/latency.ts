/**
 * enqueue_to_start_ms and event_latency_ms. Wall clocks are performance.timeOrigin +
 * performance.now() in every process (one machine, one system clock).
 *
 * enqueue_to_start, in process (details.enqueue_to_start.in_process_p50/p99, the soak metric and
 * routing; the headline figure is across processes, bench/metrics/enqueueToStart.ts): an instance
 * (child process, runConcurrency 1) enqueues one run at a time on an
 * idle system (the next only after the previous one completed), each in a new session (created
 * before, not timed: a pick-up reads the session's conversation, and one session for all samples
 * made the later ones read hundreds of messages), in a database no other metric has used before. In that process, enqueue()
 * returning is stamped, and so is the `running` state change arriving at its
 * `client.events.subscribe('run_state_changed')` callback (LISTEN/NOTIFY, in-process, one
 * clock). The difference is enqueue-returned → running-committed plus one NOTIFY delivery. A
 * pick-up that commits before enqueue() has returned to its caller counts as 0.
 *
 * event_latency: the harness commits state changes of a run (plain UPDATEs that fire the same
 * trigger the runtime's do; the run has no job, so no worker touches it) and stamps the moment it
 * sends COMMIT (an upper bound: the commit itself, WAL flush included, counts as latency); an
 * instance in another process stamps its
 * `client.events.subscribe('run_state_changed')` callback.
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

/**
 * The helper instance of the latency metrics: the run-executing instance of enqueue_to_start (one
 * run at a time, runConcurrency 1), the subscriber of event_latency, and afterwards the enqueuer
 * of the concurrency metric's backlog (with 5 s model latency it executes at most one of them).
 */
export async function startLatencyHelper(ctx: BenchContext, db: BenchDatabase): Promise<Child> {
  const helper = new Child(workerScript('instance'), {
    label: 'latency-helper',
    env: {
      BENCH_WORKER: JSON.stringify({
        databaseUrl: db.url,
        instanceId: 'bench-latency',
        modelUrl: ctx.modelUrl,
        agents: true,
        // resume_after_decision_ms (bench/metrics/waits.ts) uses this helper too.
        waitTool: true,
        subscribeEvents: true,
        // enqueue_to_start across processes (bench/metrics/enqueueToStart.ts): this helper runs the
        // agent `routed` another instance enqueues, and reports the claims.
        routing: 'capable',
        reportSteps: true,
        runConcurrency: 1,
        cluster: { shutdownTimeoutMs: 1000 },
      }),
    },
    keepMessages: false,
  });
  await helper.waitFor((m) => m.type === 'ready', 60_000, 'helper ready');
  return helper;
}

/** Warm-up and measured samples of every enqueue_to_start figure (agentpg's and the baselines'). */
export function enqueueToStartSamples(quick: boolean): { warmup: number; measured: number } {
  return { warmup: quick ? 10 : 20, measured: quick ? 100 : 200 };
}

/**
 * The in-process enqueue_to_start: `worker` enqueues and stamps; with `agent` (bench/metrics/routing.ts) the runs are of that agent,
 * which another process may be the one to run.
 */
export async function measureEnqueueToStart(
  ctx: BenchContext,
  db: BenchDatabase,
  worker: Child,
  options: { agent?: string; label?: string } = {},
): Promise<MetricResult<LatencyValue>> {
  const { agent = 'bench', label = 'enqueue_to_start' } = options;
  const { warmup, measured } = enqueueToStartSamples(ctx.quick);
  const samples = measured + warmup;
  // Both stamps are taken in the instance process: when enqueue() returned, and when its
  // client.events subscription delivered the run's `running` state change (LISTEN/NOTIFY).
  const runningAt = new Map<string, number>();
  const finished = new Set<string>();
  const off = worker.on((m) => {
    if (m.type !== 'event') return;
    const id = String(m.runId);
    if (m.state === 'running' && !runningAt.has(id)) runningAt.set(id, Number(m.t));
    if (m.state === 'completed' || m.state === 'failed' || m.state === 'cancelled') finished.add(id);
  });
  try {
    ctx.log(`${label}: ${samples} runs, one at a time`);
    const enqueued: Array<{ runId: string; t: number }> = [];
    for (let i = 0; i < samples; i++) {
      const r = (await worker.request({ type: 'enqueueOne', agent, prompt: 'Say ok.' })) as unknown as {
        runId: string;
        t: number;
      };
      enqueued.push(r);
      // Idle system: the next run is enqueued only once this one has finished, plus a pause.
      await waitUntil(async () => finished.has(r.runId), 30_000, `run ${r.runId} to finish`, 2);
      await sleep(5);
    }
    const raw = enqueued.slice(warmup).map((e) => runningAt.get(e.runId)! - e.t);
    const lat = raw.map((x) => Math.max(0, x));
    const s = summarize(lat);
    return {
      value: { p50: round(s.p50, 2), p99: round(s.p99, 2) },
      details: {
        samples: lat.length,
        warmup_discarded: warmup,
        p90: round(s.p90, 2),
        max: round(s.max, 2),
        mean: round(s.mean, 2),
        // The run was running before enqueue() had returned to its caller (counted as 0).
        started_before_enqueue_returned: raw.filter((x) => x < 0).length,
      },
    };
  } finally {
    off();
  }
}

export async function measureEventLatency(
  ctx: BenchContext,
  db: BenchDatabase,
  subscriber: Child,
): Promise<MetricResult<LatencyValue>> {
  const warmupRuns = 5;
  const runs = (ctx.quick ? 50 : 100) + warmupRuns; // two timed transitions each (queued → running → completed)
  const c = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await c.connect();
  let cleanup: (() => void) | null = null;
  try {
    ctx.log(`event_latency: ${runs * 2} state changes, subscriber in another process`);
    const callbacks = new Map<string, number>();
    const off = subscriber.on((m) => {
      if (m.type === 'event') callbacks.set(`${String(m.runId)}:${String(m.state)}`, m.t as number);
    });
    cleanup = off;
    const [{ id: sessionId }] = (
      await c.query<{ id: string }>(
        `insert into agentpg_sessions (tenant_id, identifier) values ('bench-tenant', 'events') returning id`,
      )
    ).rows;
    const commits: Array<{ key: string; t: number; roundTripMs: number; warm: boolean }> = [];
    for (let i = 0; i < runs; i++) {
      const [{ id }] = (
        await c.query<{ id: string }>(
          `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'bench-events', 'bench-tenant', 'x') returning id`,
          [sessionId],
        )
      ).rows;
      for (const [state, set] of [
        ['running', 'started_at = now()'],
        ['completed', 'finalized_at = now()'],
      ] as const) {
        await sleep(5);
        await c.query('begin');
        await c.query(`update agentpg_runs set state = '${state}', ${set} where id = $1`, [id]);
        // The commit happens between these two stamps; latency is counted from the first (an
        // upper bound that includes the commit's own WAL flush).
        const before = wallClock();
        await c.query('commit');
        commits.push({ key: `${id}:${state}`, t: before, roundTripMs: wallClock() - before, warm: i < warmupRuns });
      }
    }
    await waitUntil(async () => commits.every((x) => callbacks.has(x.key)), 30_000, 'every event callback');
    const measured = commits.filter((x) => !x.warm);
    const lat = measured.map((x) => Math.max(0, callbacks.get(x.key)! - x.t));
    const s = summarize(lat);
    return {
      value: { p50: round(s.p50, 2), p99: round(s.p99, 2) },
      details: {
        samples: lat.length,
        p90: round(s.p90, 2),
        max: round(s.max, 2),
        mean: round(s.mean, 2),
        commit_round_trip_p50_ms: round(summarize(measured.map((x) => x.roundTripMs)).p50, 2),
      },
    };
  } finally {
    cleanup?.();
    await c.end().catch(() => {});
  }
}
