import type pg from 'pg';
import { listUnroutableAgents } from '../runs/sql/unroutableRuns.js';

/**
 * The SQL behind each CLI command: read-only views over agentpg's tables. Unfinished runs are
 * looked up with `finalized_at is null` (agentpg_runs_active_idx), finished ones by finalized_at
 * (agentpg_runs_finished_idx): agentpg_runs has no index on state (src/db/schema/runs.ts).
 */
export async function instances(db: pg.Pool) {
  const { rows } = await db.query(`
    select id, hostname, pid, version,
           round(extract(epoch from now() - last_heartbeat_at)::numeric, 1) as heartbeat_age_s,
           (select count(*)::int from agentpg_runs r where r.instance_id = i.id and r.state = 'running' and r.finalized_at is null) as running_runs,
           created_at
    from agentpg_instances i order by created_at`);
  return rows;
}

export async function runsByState(db: pg.Pool) {
  const { rows } = await db.query(
    `select state, count(*)::int as runs from agentpg_runs group by state order by state`,
  );
  return rows;
}

export async function queueDepth(db: pg.Pool): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from agentpg_runs where state = 'queued' and finalized_at is null`,
  );
  return rows[0].n;
}

/** Agents whose queued runs no live instance can run (view agentpg_unroutable_runs). */
export async function unroutableRuns(db: pg.Pool) {
  return (await listUnroutableAgents(db)).map((a) => ({ agent: a.agent, runs: a.runs, oldest: a.oldestCreatedAt }));
}

export async function longRunningAgents(db: pg.Pool) {
  const { rows } = await db.query(`
    select id, kind, active, owner_instance_id as owner, epoch, restart_count,
           last_activity_at, checkpoint
    from agentpg_long_running_agents order by id limit 1000`);
  return rows;
}

/** The runs whose state changed last, newest change first: unfinished runs by state_changed_at, finished ones by finalized_at. */
export async function listRuns(db: pg.Pool, options: { state?: string; limit: number }) {
  const columns = `id, agent_name as agent, state, input_tokens, output_tokens, tool_iterations, instance_id,
            created_at, finalized_at, error_type`;
  const { rows } = await db.query(
    `select * from (
       (select ${columns}, state_changed_at as changed_at from agentpg_runs
         where finalized_at is null and ($1::text is null or state = $1)
         order by state_changed_at desc limit $2)
       union all
       (select ${columns}, finalized_at as changed_at from agentpg_runs
         where finalized_at is not null and ($1::text is null or state = $1)
         order by finalized_at desc limit $2)
     ) r order by changed_at desc limit $2`,
    [options.state ?? null, options.limit],
  );
  return rows;
}

export async function showRun(db: pg.Pool, id: string) {
  const { rows } = await db.query(`select * from agentpg_runs where id::text = $1`, [id]);
  if (rows.length === 0) return null;
  // By session first: agentpg_messages_pkey (session_id, seq) (there is no index on run_id).
  const messages = await db.query(
    `select seq, role, content, input_tokens, output_tokens, created_at from agentpg_messages
      where session_id = $2 and run_id = $1 order by seq`,
    [rows[0].id, rows[0].session_id],
  );
  const toolCalls = await db.query(
    `select tool_use_id, tool_name, state, attempts, is_error, duration_ms from agentpg_tool_calls where run_id = $1 order by created_at`,
    [rows[0].id],
  );
  return { run: rows[0], messages: messages.rows, toolCalls: toolCalls.rows };
}

export async function listAgents(db: pg.Pool) {
  const { rows } = await db.query(`
    select a.name, a.model, a.description, a.tools,
           (select count(*)::int from agentpg_instance_agents ia where ia.agent_name = a.name) as instances
    from agentpg_agents a order by a.name`);
  return rows;
}
