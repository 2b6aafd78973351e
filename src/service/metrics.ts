import client from 'prom-client';
import type pg from 'pg';
import type { AgentPG } from '../client.js';

export interface Metrics {
  render(): Promise<string>;
  contentType: string;
}

/** Seed 004's ownership metrics, read from the client's long-running manager at scrape time. */
const OWNERSHIP_COUNTERS = [
  ['agents_restored_total', 'Long-running agents this instance restored (took over and started)'],
  ['agents_restore_failed_total', 'Long-running agents whose start failed on this instance'],
  ['agent_lock_acquire_total', 'Ownership locks acquired'],
  ['agent_lock_acquire_failed_total', 'Ownership lock attempts that found the lock held'],
  ['agents_saved_on_shutdown', 'Long-running agents saved and handed over at shutdown'],
] as const;
const OWNERSHIP_GAUGES = [
  ['agent_lock_held', 'Long-running agents currently owned by this instance'],
  ['agent_restore_duration_seconds', 'Duration of the last restore pass'],
  ['shutdown_duration_seconds', 'Duration of the last graceful shutdown'],
] as const;

/**
 * Prometheus metrics for /metrics: run counts by state, queue depth, instances, and seed 004's
 * ownership metrics. Everything is read when scraped (from SQL and the client), so instances
 * never disagree about cluster-wide numbers and nothing is counted twice.
 */
export function createMetrics(agentpg: AgentPG, pool: pg.Pool): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'agentpg_process_' });

  new client.Gauge({
    name: 'agentpg_runs',
    help: 'Runs by state (whole cluster): queued and running now; completed, failed and cancelled in the last hour',
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
      for (const state of ['queued', 'running', 'completed', 'failed', 'cancelled']) {
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
      const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from agentpg_runs where state = 'queued' and finalized_at is null`);
      this.set(rows[0].n);
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
  for (const [name, help] of OWNERSHIP_GAUGES) {
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(Number(ownership()[name] ?? 0));
      },
    });
  }

  return { render: () => registry.metrics(), contentType: registry.contentType };
}
