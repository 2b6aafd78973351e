/**
 * concurrency: one instance, the fake model answering after 5 s. The runs are enqueued first (by
 * a separate instance with runConcurrency 1 — the latency metrics' helper when it ran — which is
 * stopped before the measured instance starts), so
 * the measured instance starts with a full backlog of 2 × runConcurrency runs and the enqueue
 * rate does not limit it.
 *
 * - in_flight: the peak number of model requests open at the fake model at once (sampled every
 *   10 ms in the model process) while the measured instance ran.
 * - runs_per_s: runs it completed / (last finalized_at − first started_at).
 * - efficiency: runs_per_s ÷ (in_flight / latency_s); 1.0 = every slot busy all the time.
 * - db_connections: peak count of client backends on the bench database other than the harness's
 *   own (pool `agentpg:<id>`, pg-boss `agentpg-boss:<id>`, `agentpg-listener`, lock sessions).
 */
import { Child } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { HARNESS_APP, type BenchDatabase } from '../lib/database.js';
import { CountingClient } from '../lib/poll.js';
import { round } from '../lib/stats.js';

export interface ConcurrencyValue {
  in_flight: number | null;
  model_latency_ms: number;
  runs_per_s: number | null;
  efficiency: number | null;
  db_connections: number | null;
}

const LATENCY_MS = 5000;

export async function measureConcurrency(ctx: BenchContext, db: BenchDatabase, helper: Child | null): Promise<MetricResult<ConcurrencyValue>> {
  const target = ctx.quick ? 300 : 2000;
  const n = target * 2;
  await ctx.model.request({ type: 'configure', latencyMs: LATENCY_MS });
  try {
    ctx.log(`concurrency: enqueueing ${n} runs (model latency ${LATENCY_MS} ms)`);
    const enqueuer =
      helper ??
      new Child(workerScript('instance'), {
        label: 'enqueuer',
        env: {
          BENCH_WORKER: JSON.stringify({
            databaseUrl: db.url,
            instanceId: 'bench-enqueuer',
            modelUrl: ctx.modelUrl,
            agents: true,
            runConcurrency: 1,
            cluster: { shutdownTimeoutMs: 1000 },
          }),
        },
      });
    if (!helper) await enqueuer.waitFor((m) => m.type === 'ready', 60_000, 'enqueuer ready');
    await enqueuer.request({ type: 'enqueueMany', agent: 'bench', count: n, sessions: n, concurrency: 32, prompt: 'Say ok.' }, 600_000);
    await enqueuer.request({ type: 'stop' }, 60_000).catch(() => enqueuer.kill());
    await enqueuer.wait();

    ctx.log(`concurrency: one instance, runConcurrency ${target}`);
    await ctx.model.request({ type: 'resetPeak' });
    const instanceId = 'bench-concurrency';
    const worker = new Child(workerScript('instance'), {
      label: 'agentpg-concurrency',
      env: {
        BENCH_WORKER: JSON.stringify({ databaseUrl: db.url, instanceId, modelUrl: ctx.modelUrl, agents: true, runConcurrency: target }),
      },
    });
    const poll = await new CountingClient(db.url).connect();
    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [{ n: conns }] = await poll.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
           where datname = current_database() and backend_type = 'client backend' and application_name not like $1`,
          [`${HARNESS_APP}%`],
        );
        peakConnections = Math.max(peakConnections, Number(conns));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await worker.waitFor((m) => m.type === 'ready', 60_000, 'instance ready');
      const mine = await poll.query<{ n: string }>(`select count(*) as n from agentpg_runs where agent_name = 'bench' and state = 'queued'`);
      const backlog = Number(mine[0].n);
      await poll.waitForCount(
        `select count(*) as n from agentpg_runs where instance_id = $1 and state in ('completed', 'failed', 'cancelled')`,
        [instanceId],
        backlog,
        Math.max(120_000, (n / target) * LATENCY_MS * 6),
        500,
      );
      sampling = false;
      await sampler;
      const [r] = await poll.query<{ span_s: number; done: string; failed: string }>(
        `select extract(epoch from max(finalized_at) - min(started_at))::float8 as span_s,
                count(*) filter (where state = 'completed') as done, count(*) filter (where state <> 'completed') as failed
         from agentpg_runs where instance_id = $1`,
        [instanceId],
      );
      const stats = (await ctx.model.request({ type: 'stats' })) as unknown as { peakInFlight: number };
      const inFlight = stats.peakInFlight;
      const rate = Number(r.done) / r.span_s;
      const efficiency = rate / (inFlight / (LATENCY_MS / 1000));
      return {
        value: {
          in_flight: inFlight,
          model_latency_ms: LATENCY_MS,
          runs_per_s: round(rate, 1),
          efficiency: round(efficiency, 3),
          db_connections: peakConnections,
        },
        details: { run_concurrency: target, runs_measured: Number(r.done), runs_failed: Number(r.failed), span_s: round(r.span_s, 2) },
      };
    } finally {
      sampling = false;
      await sampler.catch(() => {});
      await poll.end();
      await worker.request({ type: 'stop' }, 60_000).catch(() => worker.kill());
    }
  } finally {
    await ctx.model.request({ type: 'configure', latencyMs: 0 });
  }
}
