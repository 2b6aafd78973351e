import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../rows.js';
import type { Run } from '../types.js';
import type { TokenUsage } from './insertMessages.js';
import { RUN_STATE_CHANNEL, RUN_STREAM_CHANNEL } from '../../events/channels.js';

export type FinalState = 'completed' | 'failed' | 'cancelled';

export interface FinalRunUpdate {
  runId: string;
  /** The execution's claim (agentpg_runs.attempts): the fence. */
  attempt: number;
  state: FinalState;
  usage: TokenUsage;
  responseText?: string | null;
  stopReason?: string | null;
  errorMessage?: string | null;
  errorType?: string | null;
  /** The run's remaining stream events (StreamBuffer.drain()), sent only if the run matches. */
  streamPayloads: string[];
}

/**
 * running → completed | failed | cancelled for a whole finalize batch in ONE guarded UPDATE
 * (state = 'running' and each run's own attempt). A run that does not match lost its claim
 * (cancelled elsewhere, failed by cleanup, re-claimed after its heartbeat lapsed); it is simply
 * missing from the result, and the other runs go on. Returns the updated rows by run id.
 *
 * The same statement sends the stream events of the runs that matched, in order. They cannot be a
 * statement of their own after this one: the state trigger's NOTIFY (an AFTER ROW trigger, fired at
 * the end of this statement) would then be delivered before the last text deltas, and a stream()
 * reader would see the run end before its text. Sent inside this statement (the ordered subquery
 * with pg_notify in the aggregate), they are queued before the trigger fires. Before this statement
 * they would go out for runs whose claim turns out to be gone.
 *
 * clock_timestamp(), not now(): the transaction's start time would be earlier than work done in it.
 * It is read in the materialized CTE `v`, not in the UPDATE: Citus rejects volatile functions in an
 * UPDATE of a distributed table (docs/scaling.md); a CTE it evaluates on the coordinator first.
 */
export async function finalizeRuns(tx: Queryable, runs: FinalRunUpdate[]): Promise<Map<string, Run>> {
  const out = new Map<string, Run>();
  if (runs.length === 0) return out;
  const values = runs.map((r) => ({
    id: r.runId,
    attempt: r.attempt,
    state: r.state,
    response_text: r.responseText ?? null,
    stop_reason: r.stopReason ?? null,
    error_message: r.errorMessage ?? null,
    error_type: r.errorType ?? null,
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cache_creation_input_tokens: r.usage.cacheCreationInputTokens,
    cache_read_input_tokens: r.usage.cacheReadInputTokens,
  }));
  const streamRunIds: string[] = [];
  const streamPayloads: string[] = [];
  for (const r of runs) {
    for (const p of r.streamPayloads) {
      streamRunIds.push(r.runId);
      streamPayloads.push(p);
    }
  }
  const { rows } = await tx.query<RunRow>(
    `with v as materialized (
       select v.*, clock_timestamp() as now from jsonb_to_recordset($1::jsonb) as v(
         id uuid, attempt int, state text, response_text text, stop_reason text, error_message text, error_type text,
         input_tokens int, output_tokens int, cache_creation_input_tokens int, cache_read_input_tokens int)
     ), finalized as (
       update agentpg_runs r set
           state = v.state,
           finalized_at = v.now,
           state_changed_at = v.now,
           response_text = coalesce(v.response_text, r.response_text),
           stop_reason = coalesce(v.stop_reason, r.stop_reason),
           error_message = v.error_message,
           error_type = v.error_type,
           input_tokens = r.input_tokens + v.input_tokens,
           output_tokens = r.output_tokens + v.output_tokens,
           cache_creation_input_tokens = r.cache_creation_input_tokens + v.cache_creation_input_tokens,
           cache_read_input_tokens = r.cache_read_input_tokens + v.cache_read_input_tokens
         from v
        where r.id = v.id and r.state = 'running' and r.attempts = v.attempt
        returning r.*
     ), streamed as (
       select count(pg_notify('${RUN_STREAM_CHANNEL}', s.payload)) as sent
         from (select p.payload
                 from unnest($2::uuid[], $3::text[]) with ordinality as p(run_id, payload, ord)
                where p.run_id in (select id from finalized)
                order by p.ord) s
     ), stated as (
       -- The run state NOTIFY, byte for byte the one of the trigger agentpg_runs_state_notify, after
       -- the stream's (it reads streamed.sent). PostgreSQL delivers identical notifications of one
       -- transaction once, so on one server this adds nothing; on Citus the trigger cannot notify
       -- (it fires on a worker, in a prepared transaction) and this one, sent by the coordinator,
       -- is the one listeners get (docs/scaling.md).
       select count(pg_notify('${RUN_STATE_CHANNEL}', json_build_object(
           'run_id', f.id,
           'session_id', f.session_id,
           'agent_name', f.agent_name,
           'tenant_id', f.tenant_id,
           'state', f.state,
           'previous_state', 'running'::varchar,
           'instance_id', f.instance_id,
           'parent_run_id', f.parent_run_id,
           'depth', f.depth
         )::text)) as sent
         from finalized f cross join streamed s
        where s.sent >= 0
     )
     select f.* from finalized f cross join stated`,
    [JSON.stringify(values), streamRunIds, streamPayloads],
  );
  for (const row of rows) out.set(row.id, mapRun(row));
  return out;
}
