/**
 * The plan of the run worker's fetch over the backlog the concurrency metric built: agentpg's
 * fetch-and-claim statement (src/runs/sql/fetchAndClaimRuns.ts, built as src/runs/fetchBatch.ts
 * builds it: the `bench` agent's route key, a batch of 50, no tenant limit), run once under EXPLAIN
 * (ANALYZE, BUFFERS) inside a transaction that is rolled back, so no job changes state. Taken
 * before the measured instance starts: the plan it will meet at its first fetch.
 */
import pg from 'pg';
import { PGBOSS_SCHEMA } from '../../src/db/migrate.js';
import { RUNS_QUEUE } from '../../src/runs/queueName.js';
import { routeKeyOf } from '../../src/runs/routing.js';
import { fetchAndClaimStatement } from '../../src/runs/sql/fetchAndClaimRuns.js';
import { HARNESS_APP } from './database.js';

export interface FetchPlan {
  execution_ms: number | null;
  plan: string[];
}

export async function explainRunFetch(url: string, agent: string, batchSize = 50): Promise<FetchPlan> {
  const c = new pg.Client({ connectionString: url, application_name: HARNESS_APP });
  await c.connect();
  try {
    const { rows } = await c.query<{ table_name: string }>(
      `select table_name from ${PGBOSS_SCHEMA}.queue where name = $1`,
      [RUNS_QUEUE],
    );
    if (!rows[0]) throw new Error(`no queue ${RUNS_QUEUE}`);
    const q = fetchAndClaimStatement({
      table: rows[0].table_name,
      routeKey: routeKeyOf(agent),
      limit: batchSize,
      groupLimit: null,
      agentNames: [agent],
      instanceId: 'bench-explain',
    });
    await c.query('begin');
    try {
      await c.query(`set local statement_timeout = '120s'`);
      const out = await c.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, format text) ${q.text}`,
        q.values,
      );
      const plan = out.rows.map((r) => r['QUERY PLAN']);
      const m = /Execution Time: ([\d.]+) ms/.exec(plan.join('\n'));
      return { execution_ms: m ? Number(m[1]) : null, plan };
    } finally {
      await c.query('rollback').catch(() => {});
    }
  } finally {
    await c.end().catch(() => {});
  }
}
