import type { Queryable } from '../../db/queryable.js';
import { listWaits, pendingWaitFields, type PendingWait, type WaitFilter } from './listWaits.js';
import { RUN_STREAM_CHANNEL } from '../../events/channels.js';

/** A tool call whose tool asked the user a question (agentpg_tool_calls.state = 'awaiting_input'). */
export interface PendingInput extends PendingWait {
  question: string;
}

/**
 * running → awaiting_input for a call whose tool returned requestInput(): the question and its
 * deadline, ONE statement (autocommit), fenced by the call's own attempt like finishToolCall. The
 * `input_requested` stream event goes out with it. Durable at its commit (step `input_requested`):
 * from then on the tool is not run again; the call waits for agentpg_answer_input. False when a
 * newer execution took the call over.
 */
export async function storeInputRequest(
  db: Queryable,
  r: { id: string; attempt: number; question: string; timeoutMs: number },
  /** The stream envelope of the event; its `e.deadline` is set here, from the row. */
  notifyPayload: string,
): Promise<boolean> {
  const { rows } = await db.query(
    `with u as (
       update agentpg_tool_calls set state = 'awaiting_input', question = $3,
              answer_deadline = now() + $4 * interval '1 millisecond'
        where id = $1 and state = 'running' and attempts = $2
        returning id, answer_deadline
     )
     select u.id, pg_notify('${RUN_STREAM_CHANNEL}', jsonb_set($5::jsonb, '{e,deadline}', to_jsonb(u.answer_deadline))::text) as n
       from u`,
    [r.id, r.attempt, r.question, r.timeoutMs, notifyPayload],
  );
  return rows.length > 0;
}

/**
 * Questions of a run this execution holds (`running`, so nothing re-queues it) whose deadline
 * passed: failed with an is_error output. An answer racing it wins or loses on the row lock; the
 * loser's `state = 'awaiting_input'` no longer matches. Returns how many timed out.
 */
export async function timeOutInputRequests(db: Queryable, runId: string): Promise<number> {
  const res = await db.query(
    `update agentpg_tool_calls set state = 'failed', is_error = true,
            output = 'timed out waiting for an answer', error_message = 'timed out waiting for an answer',
            decided_by = 'agentpg', decided_at = now(), finished_at = now(),
            duration_ms = (extract(epoch from now() - started_at) * 1000)::integer
      where run_id = $1 and state = 'awaiting_input' and answer_deadline <= now()`,
    [runId],
  );
  return res.rowCount ?? 0;
}

/**
 * Records an answer through agentpg_answer_input (migration run_inputs: the one way, also for plain
 * SQL): the answer is the call's output, and when the run waited on nothing else it is re-queued
 * in the same statement. Returns the run's state after it.
 */
export async function answerInput(
  db: Queryable,
  runId: string,
  a: { toolUseId: string; answer: string; answeredBy: string },
): Promise<string> {
  const { rows } = await db.query<{ state: string }>(`select agentpg_answer_input($1, $2, $3, $4) as state`, [
    runId,
    a.toolUseId,
    a.answer,
    a.answeredBy,
  ]);
  return rows[0].state;
}

/** Questions waiting for an answer, oldest first, optionally of one tenant, agent and/or run (listWaits). */
export async function listPendingInputs(db: Queryable, filter: WaitFilter): Promise<PendingInput[]> {
  // subject: to_jsonb(question), a JSON string, parsed.
  return (await listWaits(db, 'input', filter)).map((r) => ({
    ...pendingWaitFields(r),
    question: r.subject as string,
  }));
}
