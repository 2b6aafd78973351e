import type { Queryable } from '../../db/queryable.js';

/**
 * ONE statement, inside the parent's children_started transaction: the agent tool calls of the
 * turn that are still `pending` become `running` (attempts + 1; their children are started in the
 * same transaction), or, when `refusal` is set (the input has no prompt, the depth limit is
 * reached), `failed` with it as the is_error result the model gets. Calls already `running` (a
 * resume after a crash: their child exists) are left as they are.
 */
export async function startChildToolCalls(
  tx: Queryable,
  runId: string,
  calls: Array<{ id: string; refusal: string | null }>,
): Promise<void> {
  if (calls.length === 0) return;
  await tx.query(
    `update agentpg_tool_calls t set
         state = case when v.refusal is null then 'running' else 'failed' end,
         attempts = t.attempts + 1,
         started_at = now(),
         is_error = v.refusal is not null,
         output = v.refusal,
         error_message = v.refusal,
         finished_at = case when v.refusal is null then null else now() end,
         duration_ms = case when v.refusal is null then null else 0 end
       from unnest($2::uuid[], $3::text[]) as v(id, refusal)
      where t.id = v.id and t.run_id = $1 and t.state = 'pending'`,
    [runId, calls.map((c) => c.id), calls.map((c) => c.refusal)],
  );
}
