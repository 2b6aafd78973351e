import type { Queryable } from '../../db/queryable.js';
import { rowMapper, type DbRow } from '../../db/rows.js';
import { toolCalls } from '../../db/schema/index.js';

const detailOf = rowMapper(toolCalls, ['id', 'runId', 'messageId', 'decidedAt', 'approvedInput', 'answerDeadline']);

/** A tool call as the run page shows it: with its timings, approval and question. */
export type ToolCallDetail = ReturnType<typeof detailOf>;

/** A run's tool calls with their timings and approvals (agentpg_tool_calls_run_tool_use_idx). */
export async function runToolCalls(db: Queryable, runId: string): Promise<ToolCallDetail[]> {
  const { rows } = await db.query<DbRow<typeof toolCalls>>(
    `select * from agentpg_tool_calls where run_id = $1 order by created_at, tool_use_id`,
    [runId],
  );
  return rows.map(detailOf);
}
