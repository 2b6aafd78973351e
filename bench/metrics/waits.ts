/**
 * Runs that wait (issue 14): resume_after_decision_ms and waiting_runs.
 *
 * resume_after_decision_ms: the latency helper (bench/metrics/latency.ts, runConcurrency 1, in the
 * same run as enqueue_to_start) executes one run of agent `waiter` at a time; its tool needs
 * approval, so the run suspends (awaiting_input, job set aside). The harness, another process,
 * then records the decision with plain SQL (agentpg_decide_tool_call) and stamps the moment its
 * COMMIT returned (the decision durable); the helper stamps its `client.events` callback of the
 * run's `running` state. The difference is decision committed → the run claimed again and running
 * on the helper (one fetch + claim transaction, one commit), plus one NOTIFY delivery. From the
 * moment COMMIT was sent (the decision's own WAL flush counted too) in details, `from_commit_sent_*`.
 *
 * waiting_runs: one instance (its own process, runConcurrency 10) and 2,000 runs enqueued with
 * plain SQL (agentpg_enqueue_run, so the instance's pool is used only by executing them), each of
 * which suspends waiting for approval. Measured in the database, not taken from the runtime's own
 * counters: worker slots held = the runs queue's `active` jobs + runs in `running` once all 2,000
 * wait; connections = pg_stat_activity rows of the database not the harness's, after a warm-up of
 * 20 waiting runs (the pool at its working size) and again with all 2,000 waiting.
 */
import pg from 'pg';
import { Child, wallClock } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { HARNESS_APP, sleep, waitUntil, type BenchDatabase } from '../lib/database.js';
import { round, summarize } from '../lib/stats.js';
import type { LatencyValue } from './latency.js';

export interface WaitingRunsValue {
  runs: number;
  worker_slots_held: number | null;
  connections_added: number | null;
}

export async function measureResumeAfterDecision(
  ctx: BenchContext,
  db: BenchDatabase,
  helper: Child,
): Promise<MetricResult<LatencyValue>> {
  const warmup = 5;
  const samples = (ctx.quick ? 50 : 100) + warmup;
  const states = new Map<string, Array<{ state: string; t: number }>>();
  const off = helper.on((m) => {
    if (m.type !== 'event') return;
    const id = String(m.runId);
    const list = states.get(id) ?? [];
    list.push({ state: String(m.state), t: Number(m.t) });
    states.set(id, list);
  });
  const c = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await c.connect();
  try {
    ctx.log(`resume_after_decision: ${samples} runs, each suspended then approved from another process`);
    const lat: number[] = [];
    const latFromSent: number[] = [];
    for (let i = 0; i < samples; i++) {
      const { runId } = (await helper.request({
        type: 'enqueueOne',
        agent: 'waiter',
        prompt: '[wait] go',
      })) as unknown as {
        runId: string;
      };
      await waitUntil(
        async () => states.get(runId)?.some((s) => s.state === 'awaiting_input') ?? false,
        30_000,
        `run ${runId} to wait`,
        2,
      );
      const [{ tool_use_id }] = (
        await c.query<{ tool_use_id: string }>(
          `select tool_use_id from agentpg_tool_calls where run_id = $1 and approval = 'pending'`,
          [runId],
        )
      ).rows;
      await sleep(5);
      await c.query('begin');
      await c.query(`select agentpg_decide_tool_call($1, $2, 'approve', 'bench')`, [runId, tool_use_id]);
      const sent = wallClock();
      await c.query('commit');
      const before = wallClock();
      await waitUntil(
        async () => states.get(runId)?.some((s) => s.state === 'completed') ?? false,
        30_000,
        `run ${runId} to finish`,
        2,
      );
      // A claim whose event arrived before COMMIT returned to this process counts as 0.
      const resumed = states.get(runId)!.find((s) => s.state === 'running' && s.t >= sent);
      if (i >= warmup && resumed) {
        lat.push(Math.max(0, resumed.t - before));
        latFromSent.push(resumed.t - sent);
      }
    }
    const s = summarize(lat);
    const fromSent = summarize(latFromSent);
    return {
      value: { p50: round(s.p50, 2), p99: round(s.p99, 2) },
      details: {
        samples: lat.length,
        warmup_discarded: warmup,
        p90: round(s.p90, 2),
        max: round(s.max, 2),
        from_commit_sent_p50: round(fromSent.p50, 2),
        from_commit_sent_p99: round(fromSent.p99, 2),
      },
    };
  } finally {
    off();
    await c.end().catch(() => {});
  }
}

export async function measureWaitingRuns(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<WaitingRunsValue>> {
  const runs = 2000;
  const warmup = 20;
  const instance = new Child(workerScript('instance'), {
    label: 'waiting-runs',
    env: {
      BENCH_WORKER: JSON.stringify({
        databaseUrl: db.url,
        instanceId: 'bench-waits',
        modelUrl: ctx.modelUrl,
        waitTool: true,
        runConcurrency: 10,
        cluster: { shutdownTimeoutMs: 1000 },
      }),
    },
    keepMessages: false,
  });
  await instance.waitFor((m) => m.type === 'ready', 60_000, 'instance ready');
  const c = new pg.Client({ connectionString: db.url, application_name: HARNESS_APP });
  await c.connect();
  try {
    const enqueue = async (n: number) => {
      // One statement for all: sessions and runs (agentpg_enqueue_run: run + job, like agent.enqueue).
      await c.query(
        `with s as (
           insert into agentpg_sessions (tenant_id, identifier, agent_name)
           select 'bench-tenant', 'wait-' || gen_random_uuid(), 'waiter' from generate_series(1, $1)
           returning id
         )
         select count(agentpg_enqueue_run(s.id, 'waiter', '[wait] go')) from s`,
        [n],
      );
    };
    const waiting = async () =>
      Number(
        (
          await c.query(
            `select count(*) as n from agentpg_runs where state = 'awaiting_input' and finalized_at is null`,
          )
        ).rows[0].n,
      );
    const connections = async () =>
      Number(
        (
          await c.query(
            `select count(*) as n from pg_stat_activity where datname = current_database() and application_name <> $1`,
            [HARNESS_APP],
          )
        ).rows[0].n,
      );
    const slotsHeld = async () =>
      Number(
        (
          await c.query(
            `select (select count(*) from agentpg_boss.job where name = 'agentpg_runs' and state = 'active')
                  + (select count(*) from agentpg_runs where state = 'running' and finalized_at is null) as n`,
          )
        ).rows[0].n,
      );
    await waitUntil(
      async () => (await c.query(`select 1 from agentpg_agents where name = 'waiter'`)).rows.length > 0,
      30_000,
      `agent waiter registered (agents: ${(await c.query(`select string_agg(name, ',') as n from agentpg_agents`)).rows[0].n})`,
      50,
    );
    ctx.log(`waiting_runs: warm-up of ${warmup} waiting runs`);
    await enqueue(warmup);
    await waitUntil(async () => (await waiting()) === warmup, 60_000, 'the warm-up runs to wait', 50);
    const before = await connections();
    const slotsBefore = await slotsHeld();
    ctx.log(`waiting_runs: ${runs} runs into a wait`);
    const t0 = Date.now();
    await enqueue(runs - warmup);
    await waitUntil(async () => (await waiting()) === runs, 300_000, `${runs} runs to wait`, 200);
    const allWaitingS = (Date.now() - t0) / 1000;
    const after = await connections();
    const slots = await slotsHeld();
    return {
      value: { runs, worker_slots_held: slots, connections_added: after - before },
      details: {
        connections_before: before,
        connections_after: after,
        slots_held_after_warmup: slotsBefore,
        seconds_to_all_waiting: round(allWaitingS, 1),
        run_concurrency: 10,
      },
    };
  } finally {
    await c.end().catch(() => {});
    await instance.request({ type: 'stop' }, 30_000).catch(() => instance.kill());
  }
}
