import type { Queryable } from '../../db/queryable.js';
import { listWaits, pendingWaitFields, type PendingWait, type WaitFilter } from './listWaits.js';

/** A tool call waiting for a person's decision (agentpg_tool_calls.approval = 'pending'). */
export interface PendingApproval extends PendingWait {
  /** The input the model asked the tool to run with. */
  input: unknown;
}

/** Pending approvals, oldest first, optionally of one tenant, agent and/or run (listWaits). */
export async function listPendingApprovals(db: Queryable, filter: WaitFilter): Promise<PendingApproval[]> {
  return (await listWaits(db, 'approval', filter)).map((r) => ({ ...pendingWaitFields(r), input: r.subject }));
}

export interface Decision {
  toolUseId: string;
  decision: 'approve' | 'deny';
  decidedBy: string;
  message?: string | null;
  /** approve only: run the tool with this input instead of the model's. */
  input?: unknown;
}

/**
 * Records a decision through agentpg_decide_tool_call (migration approvals: the one way, also for
 * plain SQL): the last one of a waiting run re-queues it in the same statement. Returns the run's
 * state after it.
 */
export async function decideToolCall(db: Queryable, runId: string, d: Decision): Promise<string> {
  const { rows } = await db.query<{ state: string }>(
    `select agentpg_decide_tool_call($1, $2, $3, $4, $5, $6::jsonb) as state`,
    [
      runId,
      d.toolUseId,
      d.decision,
      d.decidedBy,
      d.message ?? null,
      d.input === undefined ? null : JSON.stringify(d.input),
    ],
  );
  return rows[0].state;
}

/**
 * Pending approvals of a run this execution holds (`running`, so nothing re-queues) whose deadline
 * has passed: denied with "timed out" by `agentpg`. A person's decision racing it wins or loses on
 * the row lock; the loser's `approval = 'pending'` no longer matches. Returns how many timed out.
 */
export async function timeOutApprovals(db: Queryable, runId: string): Promise<number> {
  const res = await db.query(
    `update agentpg_tool_calls set approval = 'denied', decided_by = 'agentpg', decided_at = now(),
            decision_message = 'timed out'
      where run_id = $1 and approval = 'pending' and approval_deadline <= now()`,
    [runId],
  );
  return res.rowCount ?? 0;
}

/**
 * After lockRunForSuspend, in a statement of its own (so it sees every decision committed before
 * the lock was granted): running → awaiting_input if a tool call of the run still waits for a
 * decision or for an answer (the same predicate as agentpg_run_still_waits, migration run_inputs). Returns the earliest deadline among them (when the run's job comes due to time them
 * out), or null when nothing waits any more (the run goes on).
 */
export async function markAwaitingInput(tx: Queryable, runId: string): Promise<{ deadline: Date } | null> {
  const { rows } = await tx.query(
    `with p as (
       select min(coalesce(case when state = 'awaiting_input' then answer_deadline else approval_deadline end,
                           now() + interval '100 years')) as deadline, count(*) as n
         from agentpg_tool_calls
        where run_id = $1 and ((approval = 'pending' and state = 'pending') or state = 'awaiting_input')
     ), u as (
       update agentpg_runs r set state = 'awaiting_input', state_changed_at = clock_timestamp()
         from p where r.id = $1 and p.n > 0
         returning p.deadline
     )
     select deadline from u`,
    [runId],
  );
  return rows[0] ? { deadline: rows[0].deadline } : null;
}
