import type { DbRow } from '../db/rows.js';
import type { runs, sessions } from '../db/schema/index.js';
import type { Run, Session } from './types.js';

export type RunRow = DbRow<typeof runs>;
export type SessionRow = DbRow<typeof sessions>;

/** agentpg_runs row (snake_case, as pg returns it) → Run. */
export function mapRun(r: RunRow): Run {
  return {
    id: r.id,
    sessionId: r.session_id,
    state: r.state,
    agentName: r.agent_name,
    tenantId: r.tenant_id,
    prompt: r.prompt,
    responseText: r.response_text ?? null,
    stopReason: r.stop_reason ?? null,
    inputTokens: r.input_tokens ?? 0,
    outputTokens: r.output_tokens ?? 0,
    cacheCreationInputTokens: r.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: r.cache_read_input_tokens ?? 0,
    toolIterations: r.tool_iterations ?? 0,
    errorMessage: r.error_message ?? null,
    errorType: r.error_type ?? null,
    instanceId: r.instance_id ?? null,
    idempotencyKey: r.idempotency_key ?? null,
    jobId: r.job_id ?? null,
    attempts: r.attempts ?? 0,
    rateLimitDeferrals: r.rate_limit_deferrals ?? 0,
    metadata: r.metadata ?? {},
    context: r.context ?? {},
    traceParent: r.trace_parent ?? null,
    createdAt: r.created_at,
    startedAt: r.started_at ?? null,
    cancelRequestedAt: r.cancel_requested_at ?? null,
    finalizedAt: r.finalized_at ?? null,
    parentRunId: r.parent_run_id ?? null,
    parentToolCallId: r.parent_tool_call_id ?? null,
    depth: r.depth ?? 0,
    batchMode: r.batch_mode ?? null,
  };
}

export function mapSession(r: SessionRow): Session {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    identifier: r.identifier,
    agentName: r.agent_name ?? null,
    parentSessionId: r.parent_session_id ?? null,
    metadata: r.metadata ?? {},
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else can never name a row (and would be a SQL cast error). */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}
