/**
 * routing: capability routing on a cluster of 3 instance processes where only one can run agent
 * `routed` (its tool `routed_lookup` is registered there alone, bench/workers/instance.ts):
 * - capable: `routed` and its tool;
 * - no-tool: `routed` without its tool (it enqueues the agent's runs but never runs them);
 * - no-agent: not `routed` at all.
 * All three also run the agent `bench` (no runs of it here), so every worker is up and fetching.
 *
 * enqueue_to_start: measured as the enqueue_to_start metric does (bench/metrics/latency.ts), with
 * no-tool as the enqueuing and stamping process: one run at a time on an idle cluster, enqueue()
 * returned → the run's `running` event at that process's subscription callback. The run starts in
 * another process (capable), woken by the `queued` NOTIFY. 200 samples after 20 warm-up (100 quick).
 *
 * foreign_fetches: jobs the two non-capable instances fetched (their `health().runsFetched`,
 * differences over the metric), over the timed runs and a burst of 200 runs (100 quick, a new
 * session each) enqueued at once by no-tool. No run of any other agent is enqueued in this
 * database, so every job they fetched is one of `routed`'s: the target is 0. `details.routing` also has the jobs handed back
 * (`foreignRunsFetched`) per instance and the runs that ran anywhere but on capable (database).
 */
import { Child } from '../lib/child.js';
import { workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { waitUntil, type BenchDatabase } from '../lib/database.js';
import type { InstanceWorkerConfig } from '../workers/instance.js';
import { measureEnqueueToStart } from './latency.js';

export interface RoutingValue {
  instances: number;
  capable: number;
  enqueue_to_start_p50_ms: number | null;
  enqueue_to_start_p99_ms: number | null;
  foreign_fetches: number | null;
}

const ROLES = ['capable', 'no_tool', 'no_agent'] as const;
type Role = (typeof ROLES)[number];

interface Fetches {
  runsFetched: number;
  foreignRunsFetched: number;
}

export async function measureRouting(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<RoutingValue>> {
  const burst = ctx.quick ? 100 : 200;
  const children = new Map<Role, Child>();
  for (const role of ROLES) {
    const config: InstanceWorkerConfig = {
      databaseUrl: db.url,
      instanceId: `routing-${role.replace('_', '-')}`,
      modelUrl: ctx.modelUrl,
      agents: true,
      routing: role,
      // The enqueuer stamps the `running` events (as the enqueue_to_start helper does).
      subscribeEvents: role === 'no_tool',
      cluster: { shutdownTimeoutMs: 1000 },
    };
    children.set(
      role,
      new Child(workerScript('instance'), {
        label: config.instanceId,
        env: { BENCH_WORKER: JSON.stringify(config) },
        keepMessages: false,
      }),
    );
  }
  const fetches = async (): Promise<Record<Role, Fetches>> => {
    const out = {} as Record<Role, Fetches>;
    for (const role of ROLES) {
      const { health: h } = (await children.get(role)!.request({ type: 'health' })) as unknown as {
        health: { runsFetched: number; foreignRunsFetched: number };
      };
      out[role] = { runsFetched: Number(h.runsFetched), foreignRunsFetched: Number(h.foreignRunsFetched) };
    }
    return out;
  };
  try {
    await Promise.all(
      [...children.values()].map((c) => c.waitFor((m) => m.type === 'ready', 60_000, `${c.label} ready`)),
    );
    const enqueuer = children.get('no_tool')!;
    const before = await fetches();

    const timed = await measureEnqueueToStart(ctx, db, enqueuer, { agent: 'routed', label: 'routing' });

    ctx.log(`routing: a burst of ${burst} runs enqueued at once`);
    const { runIds } = (await enqueuer.request(
      {
        type: 'enqueueMany',
        agent: 'routed',
        count: burst,
        sessions: burst,
        concurrency: 32,
        prompt: 'Say ok.',
      },
      60_000,
    )) as unknown as { runIds: string[] };
    await waitUntil(
      async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from agentpg_runs where id = any($1::uuid[]) and state in ('completed', 'failed', 'cancelled')`,
            [runIds],
          )
        )[0].n === runIds.length,
      120_000,
      `the burst of ${burst} runs to finish`,
    );

    const after = await fetches();
    const delta = (role: Role) => ({
      runs_fetched: after[role].runsFetched - before[role].runsFetched,
      handed_back: after[role].foreignRunsFetched - before[role].foreignRunsFetched,
    });
    const perInstance = Object.fromEntries(ROLES.map((r) => [r, delta(r)]));
    const [placement] = await db.query<{
      runs: number;
      elsewhere: number;
      not_completed: number;
      max_attempts: number;
    }>(
      `select count(*)::int as runs,
              count(*) filter (where instance_id is distinct from 'routing-capable')::int as elsewhere,
              count(*) filter (where state <> 'completed')::int as not_completed,
              max(attempts)::int as max_attempts
         from agentpg_runs where agent_name = 'routed'`,
    );
    return {
      value: {
        instances: ROLES.length,
        capable: 1,
        enqueue_to_start_p50_ms: timed.value.p50,
        enqueue_to_start_p99_ms: timed.value.p99,
        foreign_fetches: delta('no_tool').runs_fetched + delta('no_agent').runs_fetched,
      },
      details: {
        enqueue_to_start: timed.details,
        burst_runs: burst,
        fetches_per_instance: perInstance,
        runs: placement,
      },
    };
  } finally {
    await Promise.all([...children.values()].map((c) => c.request({ type: 'stop' }, 30_000).catch(() => c.kill())));
  }
}
