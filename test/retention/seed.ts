import type { Queryable } from '../../src/db/queryable.js';

const DAY = 24 * 60 * 60_000;
export const days = (n: number) => n * DAY;

export interface SeedRun {
  state: 'queued' | 'running' | 'awaiting_input' | 'completed' | 'failed' | 'cancelled';
  /** How long ago the run finished (terminal states) or was created (others). */
  ageMs: number;
}

/** `count` sessions seeded alike (seedSession), one after the other; their ids in order. */
export async function seedSessions(
  db: Queryable,
  count: number,
  s: Parameters<typeof seedSession>[1],
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await seedSession(db, s));
  return ids;
}

/**
 * A session as agentpg would have stored it: each run with its user and assistant messages and one
 * tool call (finished when the run is); `compacted` adds a compaction over the first messages.
 * Rows inserted straight into the tables (times in the past need it).
 */
export async function seedSession(
  db: Queryable,
  s: { tenantId: string; runs: SeedRun[]; parentSessionId?: string; compacted?: boolean; label?: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into agentpg_sessions (tenant_id, identifier, agent_name, parent_session_id, created_at)
     values ($1, $2, 'retained', $3, now() - interval '400 days') returning id`,
    [s.tenantId, s.label ?? 'seeded', s.parentSessionId ?? null],
  );
  const sessionId = rows[0].id;
  for (const run of s.runs) {
    const terminal = ['completed', 'failed', 'cancelled'].includes(run.state);
    const started = run.state !== 'queued';
    const { rows: r } = await db.query<{ id: string }>(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, state, created_at, started_at,
                                 finalized_at, state_changed_at, attempts)
       values ($1, 'retained', $2, 'hello', $3, now() - make_interval(secs => $4::double precision / 1000) - interval '1 minute',
               case when $5 then now() - make_interval(secs => $4::double precision / 1000) - interval '30 seconds' end,
               case when $6 then now() - make_interval(secs => $4::double precision / 1000) end, now(), $7)
       returning id`,
      [sessionId, s.tenantId, run.state, run.ageMs, started, terminal, started ? 1 : 0],
    );
    const runId = r[0].id;
    if (!started) continue;
    const { rows: m } = await db.query<{ id: string }>(
      `insert into agentpg_messages (session_id, run_id, role, content) values
         ($1, $2, 'user', '[{"type":"text","text":"hello"}]'),
         ($1, $2, 'assistant', '[{"type":"tool_use","id":"tu1","name":"t","input":{}}]')
       returning id`,
      [sessionId, runId],
    );
    await db.query(
      `insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input, state, output, finished_at)
       values ($1, $2, 'tu1', 't', '{}', $3, $4, $5)`,
      [
        runId,
        m[1].id,
        terminal ? 'succeeded' : 'running',
        terminal ? 'ok' : null,
        terminal ? new Date(Date.now() - run.ageMs) : null,
      ],
    );
  }
  if (s.compacted) {
    await db.query(
      `insert into agentpg_compactions (session_id, number, through_seq, replacement, strategy, messages_archived,
                                        tokens_before, tokens_after, duration_ms)
       select $1, 1, min(seq), '[{"role":"user","content":[{"type":"text","text":"summary"}]}]', 'summarize', 1, 100, 10, 5
         from agentpg_messages where session_id = $1`,
      [sessionId],
    );
  }
  return sessionId;
}

/** Rows of each table that belong to the given sessions, keyed by table. */
export async function rowsOf(db: Queryable, sessionIds: string[]) {
  const { rows } = await db.query<{
    sessions: number;
    runs: number;
    messages: number;
    tool_calls: number;
    compactions: number;
  }>(
    `select (select count(*)::int from agentpg_sessions where id = any($1::uuid[])) as sessions,
            (select count(*)::int from agentpg_runs where session_id = any($1::uuid[])) as runs,
            (select count(*)::int from agentpg_messages where session_id = any($1::uuid[])) as messages,
            (select count(*)::int from agentpg_tool_calls t join agentpg_runs r on r.id = t.run_id
              where r.session_id = any($1::uuid[])) as tool_calls,
            (select count(*)::int from agentpg_compactions where session_id = any($1::uuid[])) as compactions`,
    [sessionIds],
  );
  return rows[0];
}

/** Every table's row count (whole database). */
export async function totals(db: Queryable) {
  const { rows } = await db.query<Record<string, number>>(
    `select (select count(*)::int from agentpg_sessions) as sessions,
            (select count(*)::int from agentpg_runs) as runs,
            (select count(*)::int from agentpg_messages) as messages,
            (select count(*)::int from agentpg_tool_calls) as tool_calls,
            (select count(*)::int from agentpg_compactions) as compactions`,
  );
  return rows[0];
}

/** Every started run still stored has its two messages and its tool call (nothing half-deleted). */
export async function runsMissingRows(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select r.id from agentpg_runs r
      where r.started_at is not null
        and ((select count(*) from agentpg_messages m where m.session_id = r.session_id and m.run_id = r.id) <> 2
          or (select count(*) from agentpg_tool_calls t where t.run_id = r.id) <> 1)`,
  );
  return rows.map((r) => r.id);
}
