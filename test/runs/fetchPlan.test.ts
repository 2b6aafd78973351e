import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as plans from 'pg-boss/dist/plans.js';
import { defineAgent } from '../../src/index.js';
import { PGBOSS_SCHEMA } from '../../src/db/migrate.js';
import { RUNS_QUEUE } from '../../src/runs/queueName.js';
import { RUNS_QUEUE_OPTIONS } from '../../src/runs/queue.js';
import { routeKeyOf } from '../../src/runs/routing.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL } from './helpers.js';

// Issue 13: "the fetch plan is stable whatever the statistics". The runs queue's job table grown
// to 100,000 jobs with autovacuum off on it and no ANALYZE after: the planner has only what
// agentpg gathered itself (its ANALYZE of the fresh, empty table). agentpg's fetch, the statement
// pg-boss runs for it (key_strict_fifo, the agent's route key as the priority range, a batch of
// 50), must still read the table through its indexes, not by scanning it. A mechanism check:
// the time bound only tells an index path from a scan of the whole table on a loaded machine.

const JOBS = 100_000;
const SESSIONS = 20_000; // 5 jobs each, in enqueue order
const AGENTS = Array.from({ length: 10 }, (_, i) => `plan-agent-${i}`);
const BATCH = 50;
const INDEX_SCANS = ['Index Scan', 'Index Only Scan', 'Bitmap Heap Scan'];

let db: TestDatabase;
let table: string;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'CTE Name'?: string;
  Plans?: PlanNode[];
}

function nodes(n: PlanNode): PlanNode[] {
  return [n, ...(n.Plans ?? []).flatMap(nodes)];
}

/** EXPLAIN (ANALYZE, FORMAT JSON) of agentpg's fetch for `agent`, in a transaction rolled back. */
async function explainFetch(agent: string): Promise<{ root: PlanNode; executionMs: number; text: string }> {
  const key = routeKeyOf(agent);
  const q = plans.fetchNextJob({
    schema: PGBOSS_SCHEMA,
    table,
    name: RUNS_QUEUE,
    policy: RUNS_QUEUE_OPTIONS.policy,
    limit: BATCH,
    minPriority: key,
    maxPriority: key,
    includeTraceContext: false,
  });
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('begin');
    const { rows } = await c.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }>(
      `explain (analyze, format json) ${q.text}`,
      q.values,
    );
    const [top] = rows[0]['QUERY PLAN'];
    await c.query('rollback');
    // The same plan as text for a failure's message (its own transaction: the first one's fetch
    // made jobs active).
    await c.query('begin');
    const text = await c.query<{ 'QUERY PLAN': string }>(`explain (analyze, costs off) ${q.text}`, q.values);
    await c.query('rollback');
    return {
      root: top.Plan,
      executionMs: top['Execution Time'],
      text: text.rows.map((r) => r['QUERY PLAN']).join('\n'),
    };
  } finally {
    await c.end();
  }
}

test.beforeAll(async ({ db: testDb, startClient }) => {
  db = testDb;
  // The queue is created (and its empty table analyzed) by agentpg's start, as in production. The
  // client registers none of the agents whose jobs are inserted below, so it never fetches them.
  await startClient({ instanceId: 'fetch-plan', agents: [defineAgent({ name: 'idle-agent', model: MODEL })] });
  const [q] = await db.query<{ table_name: string }>(`select table_name from ${PGBOSS_SCHEMA}.queue where name = $1`, [
    RUNS_QUEUE,
  ]);
  table = q.table_name;
  const rel = `${PGBOSS_SCHEMA}.${pg.escapeIdentifier(table)}`;
  await db.query(`alter table ${rel} set (autovacuum_enabled = false, toast.autovacuum_enabled = false)`);
  // Sessions spread over the agents; 5 jobs per session in enqueue order; the first job of every
  // seventh session active (a run in flight holds back the rest of its session under
  // key_strict_fifo).
  await db.query(
    `insert into ${rel}
       (name, id, priority, data, state, policy, singleton_key, group_id, retry_limit, expire_seconds,
        heartbeat_seconds, start_after, created_on, started_on, heartbeat_on)
     select $1, gen_random_uuid(), ($3::int[])[1 + s % array_length($3::int[], 1)],
            jsonb_build_object('runId', gen_random_uuid(), 'agentName', ($4::text[])[1 + s % array_length($4::text[], 1)]),
            (case when n = 0 and s % 7 = 0 then 'active' else 'created' end)::${PGBOSS_SCHEMA}.job_state,
            'key_strict_fifo', 'session-' || s, 'tenant-' || (s % 50), 1000000, 86400, 10,
            t, t, case when n = 0 and s % 7 = 0 then t end, case when n = 0 and s % 7 = 0 then now() end
       from generate_series(0, $2::int - 1) as g(i),
            lateral (select g.i % ${SESSIONS} as s, g.i / ${SESSIONS} as n,
                            now() - interval '1 hour' + g.i * interval '1 ms' as t) as x`,
    [RUNS_QUEUE, JOBS, AGENTS.map(routeKeyOf), AGENTS],
  );
}, 120_000);

describe('the run fetch plan on a job table of 100,000 jobs, autovacuum off, no ANALYZE', () => {
  it('has the grown table and only the statistics of its empty self', async () => {
    const [t] = await db.query<{
      jobs: number;
      active: number;
      reltuples: number;
      autoanalyzed: number;
      column_stats: number;
      opts: string[];
    }>(
      `select (select count(*)::int from ${PGBOSS_SCHEMA}.${pg.escapeIdentifier(table)}) as jobs,
              (select count(*)::int from ${PGBOSS_SCHEMA}.${pg.escapeIdentifier(table)} where state = 'active') as active,
              c.reltuples::int as reltuples, s.autoanalyze_count::int as autoanalyzed, c.reloptions as opts,
              (select count(*)::int from pg_stats p where p.schemaname = $1 and p.tablename = $2) as column_stats
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid
        where s.schemaname = $1 and s.relname = $2`,
      [PGBOSS_SCHEMA, table],
    );
    expect(t.jobs).toBe(JOBS);
    expect(t.active).toBe(Math.ceil(SESSIONS / 7));
    expect(t.opts).toContain('autovacuum_enabled=false');
    expect(t.autoanalyzed).toBe(0);
    // What agentpg's ANALYZE of the fresh table left: no rows, no column statistics.
    expect(t.reltuples).toBe(0);
    expect(t.column_stats).toBe(0);
  });

  it('reads the job table through indexes only and fetches a full batch', async () => {
    for (const agent of [AGENTS[0], AGENTS[7]]) {
      const { root, executionMs, text } = await explainFetch(agent);
      const context = `${agent}: ${executionMs} ms\n${text}`;
      // Every read of the job table (the update itself, ModifyTable, names it too).
      const onTable = nodes(root).filter((n) => n['Relation Name'] === table && n['Node Type'].endsWith('Scan'));
      expect(onTable.length, context).toBeGreaterThan(0);
      expect(
        onTable.filter((n) => !INDEX_SCANS.includes(n['Node Type'])).map((n) => n['Node Type']),
        context,
      ).toEqual([]);
      // The batch is full: this agent's sessions without an active job each have a head.
      expect(root['Actual Rows'], context).toBe(BATCH);
    }
  });

  // Known, not fixed (issue 13): pg-boss's key_strict_fifo fetch materializes the head job of
  // EVERY session in the queue (its strict_fifo_heads CTE has no priority filter) before it keeps
  // the agent's route key. With the statistics of the empty table every estimate is 1 row, so the
  // candidates are joined to those heads by a nested loop that rescans them per candidate (50 x
  // ~12,000 rows here), and the check for an active job of the session is not parameterized on
  // it: 300-450 ms on the shared 2-core machine. Fresh statistics (ANALYZE after the growth) do
  // not help: the planner then sorts a sequential scan of the table (external merge) and probes
  // the primary key once per head, ~350 ms. No index or queue option changes what the heads CTE
  // reads; the fix needs a fetch that finds the heads of one route key. When this passes, make it
  // a plain `it`.
  it.fails("reads the sessions' heads once per fetch and takes well under 200 ms", async () => {
    for (const agent of [AGENTS[0], AGENTS[7]]) {
      const { root, executionMs, text } = await explainFetch(agent);
      const context = `${agent}: ${executionMs} ms\n${text}`;
      const rescans = nodes(root).filter((n) => n['CTE Name'] === 'strict_fifo_heads' && (n['Actual Loops'] ?? 1) > 1);
      expect(
        rescans.map((n) => n['Actual Loops']),
        context,
      ).toEqual([]);
      expect(executionMs, context).toBeLessThan(200);
    }
  });
});
