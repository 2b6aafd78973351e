import type { Queryable } from '../../db/queryable.js';
import { rowMapper, type DbRow } from '../../db/rows.js';
import { toolCalls } from '../../db/schema/index.js';
import { RUN_STREAM_CHANNEL } from '../../events/channels.js';

export interface ToolCallRow {
  id: string;
  messageId: string;
  toolUseId: string;
  toolName: string;
  input: unknown;
  state: 'pending' | 'running' | 'awaiting_input' | 'succeeded' | 'failed';
  output: string | null;
  isError: boolean;
  attempts: number;
  /** null: no approval needed; else where the human decision stands. */
  approval: 'pending' | 'approved' | 'denied' | null;
  decisionMessage: string | null;
  /** Approved with an edited input: the tool runs with this one. */
  approvedInput: unknown;
  /** The tool asked the user this (requestInput): the call waits, or waited, for the answer. */
  question: string | null;
}

export type ToolCallDbRow = DbRow<typeof toolCalls>;

export const mapToolCall: (r: ToolCallDbRow) => ToolCallRow = rowMapper(toolCalls, [
  'runId',
  'errorMessage',
  'createdAt',
  'startedAt',
  'finishedAt',
  'durationMs',
  'approvalDeadline',
  'decidedBy',
  'decidedAt',
  'answerDeadline',
]);

/**
 * One `pending` row per tool_use block, in the transaction that stores the assistant message. A
 * use with `approvalTimeoutMs` needs a person's approval first: approval 'pending', deadline now() + it.
 */
export async function insertToolCalls(
  tx: Queryable,
  runId: string,
  messageId: string,
  uses: Array<{ id: string; name: string; input: unknown; approvalTimeoutMs?: number | null }>,
): Promise<ToolCallRow[]> {
  if (uses.length === 0) return [];
  const { rows } = await tx.query<ToolCallDbRow>(
    `insert into agentpg_tool_calls (run_id, message_id, tool_use_id, tool_name, input, approval, approval_deadline)
     select $1, $2, u.tool_use_id, u.tool_name, u.input,
            case when u.approval_ms is not null then 'pending' end,
            now() + u.approval_ms * interval '1 millisecond'
       from jsonb_to_recordset($3::jsonb) as u(tool_use_id text, tool_name text, input jsonb, approval_ms bigint)
     returning *`,
    [
      runId,
      messageId,
      JSON.stringify(
        uses.map((u) => ({
          tool_use_id: u.id,
          tool_name: u.name,
          input: u.input ?? {},
          approval_ms: u.approvalTimeoutMs ?? null,
        })),
      ),
    ],
  );
  return rows.map(mapToolCall);
}

/** The tool calls of several runs in one statement. */
export async function listToolCallsOfRuns(db: Queryable, runIds: string[]): Promise<Map<string, ToolCallRow[]>> {
  const out = new Map<string, ToolCallRow[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const { rows } = await db.query<ToolCallDbRow>(
    `select * from agentpg_tool_calls where run_id = any($1::uuid[]) order by created_at, id`,
    [runIds],
  );
  for (const r of rows) out.get(r.run_id)?.push(mapToolCall(r));
  return out;
}

/**
 * pending|running → running with attempts + 1, for all the calls of a turn that are about to run,
 * in ONE statement (autocommit): durable before any tool starts, so a crash from here on re-runs
 * these calls with ctx.attempt > 1. Fenced by the run's claim; null when the claim is gone.
 */
export async function startToolCalls(
  db: Queryable,
  runId: string,
  runAttempt: number,
  ids: string[],
): Promise<{ attempts: Map<string, number>; cancelRequestedAt: Date | null } | null> {
  const { rows } = await db.query(
    `with r as (
       select cancel_requested_at from agentpg_runs where id = $1 and state = 'running' and attempts = $2
     ), u as (
       update agentpg_tool_calls t set state = 'running', attempts = t.attempts + 1, started_at = now()
        where t.run_id = $1 and t.id = any($3::uuid[]) and t.state in ('pending', 'running')
          and (t.approval is null or t.approval = 'approved')
          and exists (select 1 from r)
        returning t.id, t.attempts
     )
     select r.cancel_requested_at, u.id, u.attempts from r left join u on true`,
    [runId, runAttempt, ids],
  );
  if (rows.length === 0) return null;
  const attempts = new Map<string, number>();
  for (const row of rows) if (row.id) attempts.set(row.id, row.attempts);
  return { attempts, cancelRequestedAt: rows[0].cancel_requested_at };
}

/**
 * running → succeeded|failed with the output, ONE statement (autocommit): from its commit on, the
 * call is never executed again. Fenced by the call's own attempt, so a stale execution cannot
 * overwrite a newer one. The tool_result stream event is sent by the same statement.
 */
export async function finishToolCall(
  db: Queryable,
  r: { id: string; attempt: number; isError: boolean; output: string; errorMessage: string | null; durationMs: number },
  notifyPayload: string | null,
): Promise<boolean> {
  const { rows } = await db.query(
    `with u as (
       update agentpg_tool_calls set
           state = case when $3 then 'failed' else 'succeeded' end,
           is_error = $3, output = $4, error_message = $5, finished_at = now(), duration_ms = $6
         where id = $1 and state = 'running' and attempts = $2
         returning id
     )
     select u.id, case when $7::text is null then null else pg_notify('${RUN_STREAM_CHANNEL}', $7::text)::text end as n from u`,
    [r.id, r.attempt, r.isError, r.output, r.errorMessage, r.durationMs, notifyPayload],
  );
  return rows.length > 0;
}

/**
 * The denied calls of a turn (a person's denial, or the approval timed out) get their result: failed,
 * is_error, the output the model sees. ONE statement (autocommit), fenced by the run's claim; from
 * its commit on they are answered like any finished call. Returns false when the claim is gone.
 */
export async function finishDeniedToolCalls(
  db: Queryable,
  runId: string,
  runAttempt: number,
  calls: Array<{ id: string; output: string }>,
): Promise<boolean> {
  const { rows } = await db.query(
    `with r as (
       select 1 from agentpg_runs where id = $1 and state = 'running' and attempts = $2
     ), u as (
       update agentpg_tool_calls t set state = 'failed', is_error = true, output = v.output, error_message = v.output,
              finished_at = now(), duration_ms = 0
         from unnest($3::uuid[], $4::text[]) as v(id, output)
        where t.id = v.id and t.run_id = $1 and t.approval = 'denied' and t.state = 'pending'
          and exists (select 1 from r)
        returning t.id
     )
     select (select count(*) from r) as ours`,
    [runId, runAttempt, calls.map((c) => c.id), calls.map((c) => c.output)],
  );
  return Number(rows[0].ours) > 0;
}

/**
 * In a finalizing transaction, ONE statement for the whole batch: the calls of these runs that
 * never got a result are closed as failed, each run's with its own `reason`.
 */
export async function closeOpenToolCalls(tx: Queryable, runs: Array<{ runId: string; reason: string }>): Promise<void> {
  if (runs.length === 0) return;
  await tx.query(
    `update agentpg_tool_calls t set state = 'failed', is_error = true, output = v.reason, error_message = v.reason, finished_at = now()
       from unnest($1::uuid[], $2::text[]) as v(run_id, reason)
      where t.run_id = v.run_id and t.state in ('pending', 'running', 'awaiting_input')`,
    [runs.map((r) => r.runId), runs.map((r) => r.reason)],
  );
}
