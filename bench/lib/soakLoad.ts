/**
 * Bulk load of a year of finished runs for the soak metric (bench/metrics/soak.ts), in plain SQL
 * (INSERT … SELECT over generate_series), shaped like real traffic:
 *
 * - sessions: one per 5 runs (consecutive runs of a session are close in time), over 5 tenants with
 *   a skew (50 / 30 / 10 / 10 %), and 3 agent names;
 * - runs: 97 % completed, 2 % failed (error type and message), 1 % cancelled; created over the
 *   365 days before the load, each finalized seconds after it started; prompt ~150 bytes, answer
 *   ~300 bytes, tokens as a tool loop produces them;
 * - tool calls: 3 runs in 10 call tools (one in 10 calls two), so 0.4 per run, each with its input
 *   and a ~600-byte output;
 * - messages: prompt, then per tool call the assistant's tool_use and the user's tool_result, then
 *   the final answer: 2.8 per run, content blocks exactly as the Messages API shapes them, tokens
 *   and cost on the assistant messages.
 *
 * Ids are md5-derived UUIDs (as random in the indexes as gen_random_uuid(), but reproducible so the
 * messages and tool calls can name their run). The loading session sets session_replication_role
 * = replica (superuser, our own server): no per-row triggers (state NOTIFY, transition guard) fire
 * for rows that never changed state; the CHECK constraints still hold every row. Then VACUUM
 * ANALYZE and CHECKPOINT, as a table that has been there a while is: visible, with statistics.
 *
 * agentpg_runs is loaded at fillfactor LOAD_RUNS_FILLFACTOR, then given its own (50) back. The 50
 * keeps room on each page for a run's row to grow into (the claim, then the answer and tokens at
 * finalize, as HOT updates): a run is inserted small and grows, so the product's own pages of
 * finished runs end fuller than half (6.4 runs per page in the soak's near-empty phase). Finished
 * rows loaded at 50 % fit 5 per page and leave each page the room of one more new run, which the
 * burst's inserts then scattered over, one per old page (each the first change to its page since
 * the checkpoint: a full-page image, 0.35 per run at 200,000 rows); at 60 % a page takes 6, as
 * dense as the product's, and keeps less room than a new run needs.
 */
import pg from 'pg';
import { HARNESS_APP } from './database.js';
import { ANSWER_FILL, PROMPT_FILL } from './soakText.js';

export interface SoakLoadResult {
  runs: number;
  sessions: number;
  messages: number;
  tool_calls: number;
  load_s: number;
  vacuum_s: number;
}

const BATCH = 50_000;
/** See the header: how full a page of finished runs is once its runs grew into their room. */
const LOAD_RUNS_FILLFACTOR = 60;
export const SOAK_TENANTS = 5;

export async function loadFinishedRuns(url: string, runs: number, log: (m: string) => void): Promise<SoakLoadResult> {
  const c = new pg.Client({ connectionString: url, application_name: HARNESS_APP });
  await c.connect();
  const t0 = Date.now();
  try {
    await c.query(`set session_replication_role = replica`);
    const [own] = (
      await c.query<{ options: string[] | null }>(
        `select reloptions as options from pg_class where oid = 'agentpg_runs'::regclass`,
      )
    ).rows;
    await c.query(`alter table agentpg_runs set (fillfactor = ${LOAD_RUNS_FILLFACTOR})`);
    const sessions = Math.ceil(runs / 5);
    // Run i is created at base + i * step: the year before the load, oldest first.
    await c.query(
      `create temporary table soak_clock as
      select now() - interval '365 days' as base, (interval '360 days') / greatest($1::int, 1) as step`,
      [runs],
    );
    await c.query(
      `insert into agentpg_sessions (id, tenant_id, identifier, agent_name, metadata, created_at, updated_at)
       select md5('soak-s' || s)::uuid,
              'soak-tenant-' || (array[0,0,0,0,0,1,1,1,2,3])[s % 10 + 1],
              'soak-' || s, (array['support','research','triage'])[s % 3 + 1], '{}'::jsonb,
              k.base + (s * 5) * k.step, k.base + (s * 5 + 4) * k.step
         from generate_series(0, $1::int - 1) s, soak_clock k`,
      [sessions],
    );
    for (let lo = 0; lo < runs; lo += BATCH) {
      const hi = Math.min(runs, lo + BATCH) - 1;
      await insertRuns(c, lo, hi);
      await insertMessages(c, lo, hi);
      await insertToolCalls(c, lo, hi);
      if (((hi + 1) / BATCH) % 4 === 0 || hi + 1 === runs)
        log(`soak: loaded ${hi + 1} of ${runs} runs (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    const loadS = (Date.now() - t0) / 1000;
    const ownFill = own.options?.find((o) => o.startsWith('fillfactor='));
    await c.query(
      ownFill
        ? `alter table agentpg_runs set (fillfactor = ${Number(ownFill.split('=')[1])})`
        : `alter table agentpg_runs reset (fillfactor)`,
    );
    const t1 = Date.now();
    await c.query(`reset session_replication_role`);
    await c.query(`vacuum (analyze) agentpg_sessions, agentpg_runs, agentpg_messages, agentpg_tool_calls`);
    await c.query(`checkpoint`);
    const [counts] = (
      await c.query<{ m: string; t: string }>(
        `select (select count(*) from agentpg_messages) as m, (select count(*) from agentpg_tool_calls) as t`,
      )
    ).rows;
    return {
      runs,
      sessions,
      messages: Number(counts.m),
      tool_calls: Number(counts.t),
      load_s: Math.round(loadS),
      vacuum_s: Math.round((Date.now() - t1) / 1000),
    };
  } finally {
    await c.end();
  }
}

/** Tool calls of run i (0, 1 or 2): 0.4 per run. */
const TOOL_CALLS = `(case i % 10 when 0 then 2 when 1 then 1 when 2 then 1 else 0 end)`;

async function insertRuns(c: pg.Client, lo: number, hi: number): Promise<void> {
  await c.query(
    `insert into agentpg_runs (id, session_id, state, agent_name, tenant_id, prompt, response_text, stop_reason,
        input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, tool_iterations,
        error_message, error_type, instance_id, job_id, attempts, metadata, created_at, started_at,
        finalized_at, state_changed_at)
     select md5('soak-r' || i)::uuid, md5('soak-s' || (i / 5))::uuid, st,
            (array['support','research','triage'])[(i / 5) % 3 + 1],
            'soak-tenant-' || (array[0,0,0,0,0,1,1,1,2,3])[(i / 5) % 10 + 1],
            rpad('Ticket ' || i || ': ', 150, '${PROMPT_FILL}'),
            case when st = 'completed' then rpad('Answer ' || i || ': ', 300, '${ANSWER_FILL}') end,
            case when st = 'completed' then 'end_turn' end,
            1200 + 900 * tc, 120 + 80 * tc, case when i % 7 = 0 then 1024 else 0 end, 800 * tc, tc,
            case when st = 'failed' then 'model call failed: 529 overloaded_error after 10 attempts' end,
            case when st = 'failed' then 'overloaded' end,
            'soak-instance-' || (i % 4), md5('soak-j' || i)::uuid, 1, '{}'::jsonb,
            t, t + interval '20 ms', t + interval '2 s' + tc * interval '3 s', t + interval '2 s' + tc * interval '3 s'
       from (select i, k.base + i * k.step as t, ${TOOL_CALLS} as tc,
                    case when i % 100 < 2 then 'failed' when i % 100 = 2 then 'cancelled' else 'completed' end as st
               from generate_series($1::int, $2::int) i, soak_clock k) g`,
    [lo, hi],
  );
}

/** Message p of run i: 1 = prompt; even = assistant (tool_use until the last, then the answer); odd > 1 = tool_result. */
async function insertMessages(c: pg.Client, lo: number, hi: number): Promise<void> {
  await c.query(
    `insert into agentpg_messages (id, session_id, run_id, role, content, stop_reason, input_tokens, output_tokens,
        cache_creation_input_tokens, cache_read_input_tokens, cost_usd, created_at)
     select md5('soak-m' || i || '-' || p)::uuid, md5('soak-s' || (i / 5))::uuid, md5('soak-r' || i)::uuid,
            case when p % 2 = 1 then 'user' else 'assistant' end,
            case
              when p = 1 then jsonb_build_array(jsonb_build_object('type', 'text', 'text',
                rpad('Ticket ' || i || ': ', 150, '${PROMPT_FILL}')))
              when p % 2 = 1 then jsonb_build_array(jsonb_build_object('type', 'tool_result',
                'tool_use_id', 'toolu_soak_' || i || '_' || (p / 2),
                'content', rpad('Result ' || i || ': ', 600, 'export job 4411 ran at 02:00, status=failed, reason=token expired; ')))
              when p < last then jsonb_build_array(
                jsonb_build_object('type', 'text', 'text', 'Let me look that up.'),
                jsonb_build_object('type', 'tool_use', 'id', 'toolu_soak_' || i || '_' || (p / 2), 'name', 'search',
                  'input', jsonb_build_object('query', 'billing export failures customer ' || (i / 5))))
              else jsonb_build_array(jsonb_build_object('type', 'text', 'text',
                rpad('Answer ' || i || ': ', 300, '${ANSWER_FILL}')))
            end,
            case when p % 2 = 0 then (case when p < last then 'tool_use' else 'end_turn' end) end,
            case when p % 2 = 0 then 1200 + 400 * p else 0 end,
            case when p % 2 = 0 then 100 + 20 * p else 0 end,
            0, case when p % 2 = 0 and p > 2 then 800 else 0 end,
            case when p % 2 = 0 then 0.0045 + 0.001 * p end,
            t + p * interval '1 s'
       from (select i, k.base + i * k.step as t, 2 + 2 * ${TOOL_CALLS} as last
               from generate_series($1::int, $2::int) i, soak_clock k) g,
            generate_series(1, g.last) p
      order by i, p`,
    [lo, hi],
  );
}

async function insertToolCalls(c: pg.Client, lo: number, hi: number): Promise<void> {
  await c.query(
    `insert into agentpg_tool_calls (id, run_id, message_id, tool_use_id, tool_name, input, state, output, attempts,
        created_at, started_at, finished_at, duration_ms)
     select md5('soak-t' || i || '-' || j)::uuid, md5('soak-r' || i)::uuid, md5('soak-m' || i || '-' || (2 * j))::uuid,
            'toolu_soak_' || i || '_' || j, 'search',
            jsonb_build_object('query', 'billing export failures customer ' || (i / 5)), 'succeeded',
            rpad('Result ' || i || ': ', 600, 'export job 4411 ran at 02:00, status=failed, reason=token expired; '),
            1, t + j * interval '2 s', t + j * interval '2 s', t + j * interval '2 s' + interval '180 ms', 180
       from (select i, k.base + i * k.step as t, ${TOOL_CALLS} as tc
               from generate_series($1::int, $2::int) i, soak_clock k) g,
            generate_series(1, g.tc) j`,
    [lo, hi],
  );
}
