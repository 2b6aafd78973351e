import type { Queryable } from '../db.js';
import { mapRun } from '../rows.js';
import type { Run } from '../types.js';
import type { TokenUsage } from './insertMessages.js';

/**
 * The fenced write that every step of an execution ends with: adds a model call's tokens (and a
 * tool iteration) to a run that is still `running` under OUR claim (`attempts`). Zero rows means
 * the claim is gone (cancelled elsewhere, failed by cleanup, or re-claimed after our heartbeat
 * lapsed): the caller rolls its transaction back. Returns cancel_requested_at so every step also
 * notices a cancel whose NOTIFY was missed.
 */
export async function advanceRun(
  tx: Queryable,
  runId: string,
  attempt: number,
  usage: TokenUsage,
  toolIteration: boolean,
): Promise<{ cancelRequestedAt: Date | null; toolIterations: number } | null> {
  const { rows } = await tx.query(
    `update agentpg_runs set
        input_tokens = input_tokens + $3,
        output_tokens = output_tokens + $4,
        cache_creation_input_tokens = cache_creation_input_tokens + $5,
        cache_read_input_tokens = cache_read_input_tokens + $6,
        tool_iterations = tool_iterations + $7
      where id = $1 and state = 'running' and attempts = $2
      returning cancel_requested_at, tool_iterations`,
    [runId, attempt, usage.inputTokens, usage.outputTokens, usage.cacheCreationInputTokens, usage.cacheReadInputTokens, toolIteration ? 1 : 0],
  );
  return rows[0] ? { cancelRequestedAt: rows[0].cancel_requested_at, toolIterations: rows[0].tool_iterations } : null;
}

export type FinalState = 'completed' | 'failed' | 'cancelled';

/**
 * running → completed | failed | cancelled: ONE guarded UPDATE (state = 'running' and our
 * attempt), the last statement of the finalizing transaction. Null when the guard did not match.
 * clock_timestamp(), not now(): the transaction's start time would be earlier than work done in it.
 */
export async function finalizeRun(
  tx: Queryable,
  runId: string,
  attempt: number,
  f: {
    state: FinalState;
    usage: TokenUsage;
    responseText?: string | null;
    stopReason?: string | null;
    errorMessage?: string | null;
    errorType?: string | null;
  },
): Promise<Run | null> {
  const { rows } = await tx.query(
    `update agentpg_runs set
        state = $3,
        finalized_at = clock_timestamp(),
        response_text = coalesce($4, response_text),
        stop_reason = coalesce($5, stop_reason),
        error_message = $6,
        error_type = $7,
        input_tokens = input_tokens + $8,
        output_tokens = output_tokens + $9,
        cache_creation_input_tokens = cache_creation_input_tokens + $10,
        cache_read_input_tokens = cache_read_input_tokens + $11
      where id = $1 and state = 'running' and attempts = $2
      returning *`,
    [
      runId,
      attempt,
      f.state,
      f.responseText ?? null,
      f.stopReason ?? null,
      f.errorMessage ?? null,
      f.errorType ?? null,
      f.usage.inputTokens,
      f.usage.outputTokens,
      f.usage.cacheCreationInputTokens,
      f.usage.cacheReadInputTokens,
    ],
  );
  return rows[0] ? mapRun(rows[0]) : null;
}
