import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { toolCalls } from '../../db/schema/index.js';

export interface ToolCallDetail {
  toolUseId: string;
  toolName: string;
  input: unknown;
  state: 'pending' | 'running' | 'awaiting_input' | 'succeeded' | 'failed';
  output: string | null;
  isError: boolean;
  errorMessage: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  approval: 'pending' | 'approved' | 'denied' | null;
  approvalDeadline: Date | null;
  decidedBy: string | null;
  decisionMessage: string | null;
}

/** A run's tool calls with their timings and approvals (agentpg_tool_calls_run_tool_use_idx). */
export async function runToolCalls(db: Queryable, runId: string): Promise<ToolCallDetail[]> {
  const { rows } = await db.query<
    Pick<
      DbRow<typeof toolCalls>,
      | 'tool_use_id'
      | 'tool_name'
      | 'input'
      | 'state'
      | 'output'
      | 'is_error'
      | 'error_message'
      | 'attempts'
      | 'created_at'
      | 'started_at'
      | 'finished_at'
      | 'duration_ms'
      | 'approval'
      | 'approval_deadline'
      | 'decided_by'
      | 'decision_message'
    >
  >(
    `select tool_use_id, tool_name, input, state, output, is_error, error_message, attempts, created_at,
            started_at, finished_at, duration_ms, approval, approval_deadline, decided_by, decision_message
       from agentpg_tool_calls where run_id = $1 order by created_at, tool_use_id`,
    [runId],
  );
  return rows.map((r) => ({
    toolUseId: r.tool_use_id,
    toolName: r.tool_name,
    input: r.input,
    state: r.state,
    output: r.output,
    isError: r.is_error,
    errorMessage: r.error_message,
    attempts: r.attempts,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    approval: r.approval,
    approvalDeadline: r.approval_deadline,
    decidedBy: r.decided_by,
    decisionMessage: r.decision_message,
  }));
}
