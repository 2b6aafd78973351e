/**
 * The chaos suite's own audit trail, installed in its database before any instance starts, and
 * the invariant checks read from the database afterwards. Nothing here is part of agentpg's schema:
 * the tables and triggers exist only in the chaos database.
 */
import type pg from 'pg';
import { FENCE_AUDIT_SQL, ownershipLogOverlaps, staleWritesAccepted } from '../bench/lib/fence.js';
import { findOverlaps, type OwnershipInterval } from '../bench/lib/overlap.js';

export const AUDIT_SQL = `
-- Every execution of the 'record' tool, written (and committed) by the tool before it returns.
create table chaos_tool_executions (
  id bigint generated always as identity primary key,
  tool_use_id text not null,
  run_id uuid not null,
  instance_id text not null,
  attempt integer,
  -- When agentpg invoked the tool (the tool's own clock) and when this row landed (the server's).
  invoked_at timestamptz not null,
  executed_at timestamptz not null default clock_timestamp()
);
create index on chaos_tool_executions (tool_use_id);
-- Every transition of a run INTO a terminal state, by a trigger in the transition's own transaction.
create table chaos_run_finals (
  id bigint generated always as identity primary key,
  run_id uuid not null,
  state text not null,
  previous_state text,
  instance_id text,
  at timestamptz not null default clock_timestamp()
);
create index on chaos_run_finals (run_id);
create function chaos_log_final() returns trigger language plpgsql as $$
begin
  if NEW.state in ('completed', 'failed', 'cancelled') and NEW.state is distinct from OLD.state then
    insert into chaos_run_finals (run_id, state, previous_state, instance_id) values (NEW.id, NEW.state, OLD.state, NEW.instance_id);
  end if;
  return NEW;
end;
$$;
create trigger chaos_log_final after update of state on agentpg_runs for each row execute function chaos_log_final();
${FENCE_AUDIT_SQL}
`;

export interface Check {
  name: string;
  violations: number;
  detail: string;
  examples?: unknown[];
}

export async function checkInvariants(
  db: pg.Pool,
  input: {
    enqueuedRunIds: string[];
    handlerIntervals: OwnershipInterval[];
    longRunningIds: string[];
    unownedAtEnd: string[];
  },
): Promise<{ checks: Check[]; info: Record<string, unknown> }> {
  const checks: Check[] = [];
  const q = async <R extends pg.QueryResultRow>(text: string, params?: unknown[]) =>
    (await db.query<R>(text, params as unknown[])).rows;

  // 1. Every enqueued run is terminal (and exists: enqueue() returned its id).
  const open = await q<{ id: string; state: string }>(
    `select id, state from agentpg_runs where state not in ('completed', 'failed', 'cancelled')`,
  );
  const missing = await q<{ id: string }>(
    `select x.id from unnest($1::uuid[]) as x(id) where not exists (select 1 from agentpg_runs r where r.id = x.id)`,
    [input.enqueuedRunIds],
  );
  checks.push({
    name: 'every enqueued run terminal',
    violations: open.length + missing.length,
    detail: `${input.enqueuedRunIds.length} enqueued; ${open.length} not terminal, ${missing.length} missing`,
    examples: [...open.slice(0, 5), ...missing.slice(0, 5)],
  });

  // 2. No run completed twice: two terminal transitions, or two final assistant messages.
  const twice = await q<{ run_id: string; n: string }>(
    `select run_id, count(*) as n from chaos_run_finals group by run_id having count(*) > 1`,
  );
  // With each such run's story for the examples: its attempts and messages (seq, role, stop
  // reason, block types, time) and its terminal transitions, to tell which fault wrote what.
  const finals = await q<{ run_id: string; n: string }>(
    `select f.run_id, f.n, r.attempts, r.instance_id,
            (select json_agg(json_build_object('seq', m.seq, 'role', m.role, 'stop', m.stop_reason,
                     'blocks', (select string_agg(b->>'type', ',') from jsonb_array_elements(m.content) b),
                     'at', to_char(m.created_at at time zone 'UTC', 'HH24:MI:SS.MS')) order by m.seq)
               from agentpg_messages m where m.run_id = f.run_id) as messages,
            (select json_agg(json_build_object('state', c.state, 'from', c.previous_state, 'instance', c.instance_id,
                     'at', to_char(c.at at time zone 'UTC', 'HH24:MI:SS.MS')) order by c.id)
               from chaos_run_finals c where c.run_id = f.run_id) as transitions
       from (select run_id, count(*) as n from agentpg_messages where role = 'assistant' and stop_reason = 'end_turn'
              group by run_id having count(*) > 1) f
       left join agentpg_runs r on r.id = f.run_id`,
  );
  checks.push({
    name: 'no run completed twice',
    violations: twice.length + finals.length,
    detail: `${twice.length} runs finalized twice, ${finals.length} runs with two final assistant messages`,
    examples: [...twice.slice(0, 5), ...finals.slice(0, 5)],
  });

  // 3. No stored tool result executed twice: an execution that began (agentpg invoked the tool)
  //    after the result was stored, or a stored result with no execution at all (the audit would
  //    be blind). An execution invoked before but landing after (its process frozen or cut off in
  //    between) is the at-least-once case, counted apart.
  const tools = await q<{
    id: string;
    tool_use_id: string;
    executions: string;
    after_stored: string;
    landed_late: string;
    story: unknown;
  }>(
    `select tc.id, tc.tool_use_id, count(e.id) as executions,
            count(e.id) filter (where e.invoked_at > tc.finished_at) as after_stored,
            count(e.id) filter (where e.invoked_at <= tc.finished_at and e.executed_at > tc.finished_at) as landed_late,
            json_build_object('stored', to_char(tc.finished_at at time zone 'UTC', 'HH24:MI:SS.MS'), 'attempts', tc.attempts,
              'executions', json_agg(json_build_object('instance', e.instance_id, 'attempt', e.attempt,
                'invoked', to_char(e.invoked_at at time zone 'UTC', 'HH24:MI:SS.MS'),
                'landed', to_char(e.executed_at at time zone 'UTC', 'HH24:MI:SS.MS')) order by e.id)) as story
     from agentpg_tool_calls tc
     left join chaos_tool_executions e on e.tool_use_id = tc.tool_use_id and e.run_id = tc.run_id
     where tc.state = 'succeeded'
     group by tc.id, tc.tool_use_id`,
  );
  const afterStored = tools.filter((t) => Number(t.after_stored) > 0);
  const landedLate = tools.filter((t) => Number(t.landed_late) > 0);
  const unexecuted = tools.filter((t) => Number(t.executions) === 0);
  const reExecuted = tools.filter((t) => Number(t.executions) > 1);
  checks.push({
    name: 'no stored tool result executed twice',
    violations: afterStored.length + unexecuted.length,
    detail: `${tools.length} stored results; ${afterStored.length} executed again after being stored, ${unexecuted.length} stored without an execution; ${reExecuted.length} re-executed before their result was stored (at-least-once after a crash, allowed); ${landedLate.length} invoked before but landed after it (a frozen or cut-off worker's call in flight, allowed)`,
    examples: [...afterStored.slice(0, 5), ...unexecuted.slice(0, 5)].map((t) => ({
      tool_use_id: t.tool_use_id,
      after_stored: t.after_stored,
      story: t.story,
    })),
  });

  // 4. No overlapping ownership: agentpg's ownership log per shard, and the handlers themselves.
  const log = await ownershipLogOverlaps(db);
  const handlerOverlaps = findOverlaps(input.handlerIntervals);
  checks.push({
    name: 'no overlapping ownership epochs',
    violations: log.overlaps.length + handlerOverlaps.length,
    detail: `${log.available ? `${log.intervals} logged shard ownerships, ${log.overlaps.length} overlapping` : 'ownership log table missing'}; ${input.handlerIntervals.length} handler intervals, ${handlerOverlaps.length} overlapping`,
    examples: [
      ...log.overlaps.slice(0, 3).map((o) => ({ shard: o.agentId, a: o.a, b: o.b, ms: o.overlapMs })),
      ...handlerOverlaps.slice(0, 3).map((o) => ({ agent: o.agentId, a: o.a, b: o.b, ms: Math.round(o.overlapMs) })),
    ],
  });

  // 5. No fenced write accepted from a stale owner.
  const stale = await staleWritesAccepted(db);
  checks.push({
    name: 'no fenced write accepted from a stale owner',
    violations: stale.accepted,
    detail: `${stale.total} fenced writes accepted, ${stale.accepted} of them from a stale epoch`,
  });

  // 6. Every long-running agent ran again once the faults were over (read before the instances
  //    stopped, since a graceful stop releases them).
  checks.push({
    name: 'every long-running agent re-owned',
    violations: input.unownedAtEnd.length,
    detail: `${input.longRunningIds.length} agents, ${input.unownedAtEnd.length} without an owner and a running handler after the drain`,
    examples: input.unownedAtEnd.slice(0, 5),
  });

  const states = await q<{ state: string; error_type: string | null; n: string }>(
    `select state, error_type, count(*) as n from agentpg_runs group by state, error_type order by 3 desc`,
  );
  const attempts = await q<{ attempts: number; n: string }>(
    `select attempts, count(*) as n from agentpg_runs group by attempts order by 1`,
  );
  return {
    checks,
    info: {
      runs_by_state: states.map((s) => `${s.state}${s.error_type ? `/${s.error_type}` : ''}: ${s.n}`),
      runs_by_attempts: attempts.map((a) => `${a.attempts}: ${a.n}`),
      tool_calls_stored: tools.length,
      tool_calls_re_executed_before_stored: reExecuted.length,
      tool_calls_landed_after_stored: landedLate.map((t) => JSON.stringify(t.story)),
    },
  };
}
