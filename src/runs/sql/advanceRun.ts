import type { Queryable } from '../../db/queryable.js';
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
    [
      runId,
      attempt,
      usage.inputTokens,
      usage.outputTokens,
      usage.cacheCreationInputTokens,
      usage.cacheReadInputTokens,
      toolIteration ? 1 : 0,
    ],
  );
  return rows[0] ? { cancelRequestedAt: rows[0].cancel_requested_at, toolIterations: rows[0].tool_iterations } : null;
}
