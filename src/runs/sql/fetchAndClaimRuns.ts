import pg from 'pg';
import { PGBOSS_SCHEMA } from '../../db/migrate.js';
import type { Queryable } from '../../db/queryable.js';
import type { RunJobData } from '../queue.js';
import { RUNS_QUEUE } from '../queueName.js';
import { mapRun, type RunRow } from '../rows.js';
import type { Run } from '../types.js';

/**
 * A job the fetch made active: its id and attempt (pg-boss's fence for settling it), its data, and
 * its run as the claim left it, or null when the run was not claimed (final already, or gone).
 */
export interface ClaimedRunJob {
  id: string;
  retryCount: number;
  data: RunJobData;
  run: Run | null;
}

export interface FetchAndClaimOptions {
  /** The runs queue's own job table (the queue is partitioned: ensureRunsQueue returns it). */
  table: string;
  /** The route key (routing.ts) of the agents whose jobs to fetch: the jobs' priority. */
  routeKey: number;
  limit: number;
  /** Most active jobs per tenant (the job's group_id); null: no limit. */
  groupLimit: number | null;
  /** The agents this instance can run: only their runs are claimed (a job of another is fetched only on a route key collision). */
  agentNames: string[];
  instanceId: string;
}

/**
 * Fetch and claim in ONE statement, durable at its COMMIT (step `claimed`): takes up to `limit`
 * fetchable jobs of ONE route key and makes them active (state, started_on, heartbeat_on,
 * retry_count exactly as pg-boss's fetch sets them), and claims their runs (below), keeping the
 * queue's `key_strict_fifo` rules — a session's jobs start in (state desc, created_on, id) order, and
 * none starts while another job of the session is active, in retry or failed.
 *
 * Why not pg-boss's fetch: for key_strict_fifo it first collects the head job of EVERY session in
 * the queue (all route keys) and only then keeps the wanted key. On a job table of 100,000 queued
 * jobs that took 300-880 ms a fetch, and with the statistics of an empty table (autovacuum off) the
 * planner rescanned those heads once per candidate (test/runs/fetchPlan.test.ts). Here the
 * candidates are read in fetch order from the key's own range of job_i11 (name, priority, created_on)
 * and each is checked by two index probes of its session (job_i10: an earlier queued job; job_i8:
 * an active/retry/failed one), so a fetch reads about as many rows as it returns whatever the
 * table's size or statistics, and stops at the LIMIT.
 *
 * The probes are kept as per-candidate subplans (`offset 0` stops PostgreSQL from turning a NOT
 * EXISTS into an anti join): as joins, with the 1-row estimates of an unanalyzed table, the planner
 * chose nested loops that read every queued job once per candidate (6.4 s for 50 jobs of 100,000).
 *
 * A job another fetch holds is skipped (SKIP LOCKED); its session's later jobs are then not heads in
 * this snapshot either, as in pg-boss. With a group limit, a candidate's tenant is counted from its
 * active jobs (job_i7) plus the candidates of the same tenant ahead of it in this batch.
 */
export function fetchAndClaimStatement(o: FetchAndClaimOptions): { text: string; values: unknown[] } {
  const text = `
    with ${fetchCtes(o, '$5')},
    ${claimCtes(`select (f.data->>'runId')::uuid from fetched f where f.data->>'agentName' = any($3::text[])`, '$4')}
    select f.id as fetched_job_id, f.retry_count as fetched_job_retry_count, f.data as fetched_job_data, c.*
      from fetched f left join claimed c on c.id = (f.data->>'runId')::uuid`;
  const values: unknown[] = [o.routeKey, o.limit, o.agentNames, o.instanceId];
  if (o.groupLimit !== null) values.push(o.groupLimit);
  return { text, values };
}

/** The CTEs `next` (the candidates) and `fetched` (the jobs made active); `g`: the group limit's parameter. */
function fetchCtes(o: FetchAndClaimOptions, g: string): string {
  const t = `${PGBOSS_SCHEMA}.${pg.escapeIdentifier(o.table)}`;
  const now = `${PGBOSS_SCHEMA}.job_now()`;
  const queue = pg.escapeLiteral(RUNS_QUEUE);
  const candidates = `
    select j.id, j.group_id, j.created_on
      from ${t} j
     where j.name = ${queue}
       and j.state < 'active' and not j.blocked
       and j.priority = $1::int
       and j.start_after <= ${now}
       and not exists (
         select 1 from ${t} h
          where h.name = ${queue} and h.singleton_key = j.singleton_key
            and h.state < 'active' and not h.blocked and h.policy = 'key_strict_fifo'
            and h.start_after <= ${now}
            and (h.state > j.state or (h.state = j.state and (h.created_on, h.id) < (j.created_on, j.id)))
         offset 0)
       and not exists (
         select 1 from ${t} b
          where b.name = ${queue} and b.singleton_key = j.singleton_key
            and b.state in ('active', 'retry', 'failed') and b.policy = 'key_strict_fifo'
            and b.id <> j.id
         offset 0)
       ${o.groupLimit === null ? '' : `and (j.group_id is null or ${activeOfGroup(t, queue, 'j.group_id')} < ${g}::int)`}
     order by j.priority desc, j.created_on
     limit $2::int
     for update of j skip locked`;
  // With a group limit: the candidates of one tenant in fetch order, kept while the tenant's active
  // jobs plus the ones ahead of it in this batch stay within the limit.
  const chosen =
    o.groupLimit === null
      ? 'select id from next'
      : `select id from (
           select id, group_id,
                  row_number() over (partition by group_id order by created_on, id) as rn
             from next) r
          where r.group_id is null or ${activeOfGroup(t, queue, 'r.group_id')} + r.rn <= ${g}::int`;
  // The chosen ids as an array computed once (an InitPlan): the update then finds them by primary
  // key whatever the planner estimates for the candidates.
  return `next as materialized (${candidates}),
    fetched as (
      update ${t} j
         set state = 'active', started_on = ${now}, heartbeat_on = ${now},
             retry_count = case when started_on is not null then retry_count + 1 else retry_count end
       where j.name = ${queue} and j.id = any(array(${chosen}))
      returning j.id, j.retry_count, j.data
    )`;
}

/**
 * The claim's CTEs (`clock`, `claimed`, `prompt`) for the runs `runIds` (a subquery), as
 * instance `instance` (a parameter). queued → running (or running → running for a run whose
 * previous worker died). `attempts` is the fencing token: every later write of the execution
 * checks it, so a worker that lost its claim can no longer write. On its first claim the prompt is
 * stored as the run's first message (not at enqueue): a session's messages then follow execution
 * order, so a run queued behind another never puts its prompt into the middle of the earlier
 * run's conversation. started_at is clock_timestamp() (read once, in a materialized CTE: Citus
 * rejects volatile functions in an UPDATE of a distributed table): the statement may have begun
 * before the session's previous run committed its end. state_changed_at is set by every state
 * change (no trigger: see src/db/schema/runs.ts); a re-claim of a running run is not one. The
 * ids as an array computed once (an InitPlan), found by primary key: as `id in (subquery)`, a
 * table without statistics (autovacuum off, no ANALYZE) was read whole on every claim.
 */
function claimCtes(runIds: string, instance: string): string {
  return `clock as materialized (select clock_timestamp() as t),
    claimed as (
      update agentpg_runs r set
          state = 'running',
          started_at = coalesce(r.started_at, clock.t),
          state_changed_at = case when r.state <> 'running' then clock.t else r.state_changed_at end,
          instance_id = ${instance}::text,
          attempts = r.attempts + 1
        from clock
       where r.id = any(array(${runIds}))
         and r.state in ('queued', 'running', 'awaiting_input')
      returning r.*
    ),
    prompt as (
      insert into agentpg_messages (session_id, run_id, role, content)
      select c.session_id, c.id, 'user', jsonb_build_array(jsonb_build_object('type', 'text', 'text', c.prompt))
        from claimed c where c.attempts = 1
    )`;
}

function activeOfGroup(t: string, queue: string, group: string): string {
  return `(select count(*) from ${t} a where a.name = ${queue} and a.state = 'active' and a.group_id = ${group})`;
}

type ClaimedRow = RunRow & {
  fetched_job_id: string;
  fetched_job_retry_count: number;
  fetched_job_data: RunJobData;
};

/**
 * Runs the statement (fetchAndClaimStatement): on its own it commits at once; in the worker's
 * transaction (a tenant limit) with it. Unlike pg-boss's fetch, a unique violation of the
 * session's active slot (job_i8) is not turned into an empty result: it cannot arise from two of
 * these fetches (a session's later job is never a head while its head is visible as queued), and
 * a failed fetch is retried by the worker's fetch loop.
 *
 * `distributed` (agentpg_runs distributed by Citus, docs/scaling.md): Citus plans no statement
 * that modifies a coordinator table (the job) and a distributed one (the run) together, so the
 * fetch and the claim are two statements there; the caller holds them in one transaction.
 */
export async function fetchAndClaimRuns(
  db: Queryable,
  o: FetchAndClaimOptions,
  distributed = false,
): Promise<ClaimedRunJob[]> {
  if (!distributed) {
    const q = fetchAndClaimStatement(o);
    const { rows } = await db.query<ClaimedRow>(q.text, q.values);
    return rows.map((r) => ({
      id: r.fetched_job_id,
      retryCount: r.fetched_job_retry_count,
      data: r.fetched_job_data,
      run: r.id === null ? null : mapRun(r),
    }));
  }
  const { rows: jobs } = await db.query<{ id: string; retry_count: number; data: RunJobData }>(
    `with ${fetchCtes(o, '$3')} select id, retry_count, data from fetched`,
    o.groupLimit === null ? [o.routeKey, o.limit] : [o.routeKey, o.limit, o.groupLimit],
  );
  const runIds = jobs.filter((j) => o.agentNames.includes(j.data.agentName)).map((j) => j.data.runId);
  const { rows: runs } =
    runIds.length === 0
      ? { rows: [] as RunRow[] }
      : await db.query<RunRow>(`with ${claimCtes('select unnest($1::uuid[])', '$2')} select * from claimed`, [
          runIds,
          o.instanceId,
        ]);
  const byId = new Map(runs.map((r) => [r.id, mapRun(r)]));
  return jobs.map((j) => ({ id: j.id, retryCount: j.retry_count, data: j.data, run: byId.get(j.data.runId) ?? null }));
}
