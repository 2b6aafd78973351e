import client from 'prom-client';
import type { Queryable } from '../db/queryable.js';
import type { AgentPG } from '../client.js';
import { RUN_STATES } from '../runs/states.js';
import { listUnroutableAgents } from '../runs/sql/unroutableRuns.js';
import { recentCost } from '../costs/sql/recentCost.js';
import { retentionStatus } from '../retention/sql/retentionStatus.js';

export interface Metrics {
  render(): Promise<string>;
  contentType: string;
}

/**
 * The README's 13 ownership metrics, read from the client's long-running manager at scrape time:
 * [exported name, help, key in longRunning.metrics() when it differs from the name].
 */
const OWNERSHIP_COUNTERS: ReadonlyArray<readonly [string, string]> = [
  ['agents_restored_total', 'Long-running agents this instance restored (took over and started)'],
  ['agents_restore_failed_total', 'Long-running agents whose start failed on this instance'],
  ['agent_lock_acquire_total', 'Ownership (shard) locks acquired'],
  ['agent_lock_acquire_failed_total', 'Ownership (shard) lock attempts that found the lock held'],
  ['agent_lock_lost_total', 'Ownership locks lost with their lock session (connection lost or lease ran out)'],
  ['agent_restarts_total', 'Long-running handler restarts after a failure'],
  ['agent_stale_writes_total', 'Fenced writes rejected because another owner has a higher epoch'],
  ['agents_saved_on_shutdown', 'Long-running agents saved and handed over at shutdown'],
  ['agents_failed_total', 'Long-running agents this instance gave up on (handler kept throwing)'],
];
const OWNERSHIP_GAUGES: ReadonlyArray<readonly [string, string, string?]> = [
  ['agents_running', 'Long-running agent handlers running on this instance'],
  ['agent_lock_held', 'Shard locks (not agents) this instance holds; one shard covers many agents'],
  ['lock_sessions', 'Lock connections (sessions) this instance holds open'],
  [
    'agent_restore_duration_seconds',
    'Duration of the last restore (claim) pass',
    'agent_restore_duration_seconds_last',
  ],
  ['shutdown_duration_seconds', 'Duration of the last graceful shutdown'],
];

/**
 * Prometheus metrics for /metrics: run counts by state, queue depth, instances, and the README's
 * ownership metrics. Everything is read when scraped (from SQL and the client), so instances
 * never disagree about cluster-wide numbers and nothing is counted twice.
 */
export function createMetrics(agentpg: AgentPG, pool: Queryable): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'agentpg_process_' });

  new client.Gauge({
    name: 'agentpg_runs',
    help: 'Runs by state (whole cluster): queued, running and awaiting_input now; completed, failed and cancelled in the last hour',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      // Both halves read an index (agentpg_runs_active_idx, agentpg_runs_finished_idx): a scrape
      // must not scan a table that keeps every run ever made.
      const { rows } = await pool.query<{ state: string; n: number }>(
        `select state, count(*)::int as n from agentpg_runs where finalized_at is null group by state
         union all
         select state, count(*)::int as n from agentpg_runs where finalized_at > now() - interval '1 hour' group by state`,
      );
      for (const state of RUN_STATES) {
        this.set({ state }, rows.find((r) => r.state === state)?.n ?? 0);
      }
    },
  });
  new client.Gauge({
    name: 'agentpg_queue_depth',
    help: 'Runs waiting to be picked up (queued)',
    registers: [registry],
    async collect() {
      // `finalized_at is null`: read through agentpg_runs_active_idx (no index on state).
      const { rows } = await pool.query<{ n: number }>(
        `select count(*)::int as n from agentpg_runs where state = 'queued' and finalized_at is null`,
      );
      this.set(rows[0].n);
    },
  });
  new client.Gauge({
    name: 'agentpg_unroutable_runs',
    help: 'Queued runs whose agent no live instance can run (it lacks the agent or one of its tools)',
    labelNames: ['agent'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const a of await listUnroutableAgents(pool)) this.set({ agent: a.agent }, a.runs);
    },
  });
  new client.Gauge({
    name: 'agentpg_cost_usd_last_hour',
    help: 'USD cost of the model calls of the runs finalized in the last hour (whole cluster; the price table of src/costs/prices.ts)',
    registers: [registry],
    async collect() {
      this.set((await recentCost(pool)).usd);
    },
  });
  // [retention] from the pass log (agentpg_retention_passes): whole cluster, whichever instance ran them.
  new client.Gauge({
    name: 'agentpg_retention_retired_last_day',
    help: 'Rows retention deleted or archived in the last 24 hours (whole cluster), by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const { retiredLastDay } = await retentionStatus(pool);
      this.set({ kind: 'sessions' }, retiredLastDay.sessions);
      this.set({ kind: 'runs' }, retiredLastDay.runs);
      this.set({ kind: 'messages' }, retiredLastDay.messages);
      this.set({ kind: 'tool_calls' }, retiredLastDay.toolCalls);
      this.set({ kind: 'compactions' }, retiredLastDay.compactions);
    },
  });
  new client.Gauge({
    name: 'agentpg_retention_last_pass_timestamp_seconds',
    help: "Start of the cluster's last retention pass (0: none yet)",
    registers: [registry],
    async collect() {
      const { lastPass } = await retentionStatus(pool);
      this.set(lastPass ? lastPass.startedAt.getTime() / 1000 : 0);
    },
  });
  new client.Gauge({
    name: 'agentpg_retention_last_pass_failed',
    help: "1 when the cluster's last retention pass ended with an error",
    registers: [registry],
    async collect() {
      const { lastPass } = await retentionStatus(pool);
      this.set(lastPass?.error ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'agentpg_instances',
    help: 'Registered instances (whole cluster)',
    registers: [registry],
    async collect() {
      const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from agentpg_instances`);
      this.set(rows[0].n);
    },
  });
  new client.Gauge({
    name: 'agentpg_runs_in_flight',
    help: 'Runs this instance is executing now',
    registers: [registry],
    async collect() {
      this.set((await agentpg.health()).inFlightRuns);
    },
  });

  const ownership = (): Record<string, number> =>
    (agentpg.longRunning.metrics() as unknown as Record<string, number>) ?? {};
  for (const [name, help] of OWNERSHIP_COUNTERS) {
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(Number(ownership()[name] ?? 0));
      },
    });
  }
  for (const [name, help, key] of OWNERSHIP_GAUGES) {
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(Number(ownership()[key ?? name] ?? 0));
      },
    });
  }

  return { render: () => registry.metrics(), contentType: registry.contentType };
}
