import type { Queryable } from '../../db/queryable.js';

export interface WaitFilter {
  tenantId?: string;
  agentName?: string;
  runId?: string;
  limit?: number;
}

/** One row of the view agentpg_waits (migration run_inputs): a tool call waiting for a person. */
export interface WaitRow {
  run_id: string;
  session_id: string;
  tenant_id: string;
  agent_name: string;
  run_state: string;
  tool_use_id: string;
  tool_name: string;
  /** approval: the call's input; input: the question (a JSON string). */
  subject: unknown;
  requested_at: Date;
  deadline: Date | null;
}

/**
 * Tool calls waiting for a decision (`approval`) or an answer (`input`), oldest first, optionally
 * of one tenant, agent and/or run. The one read of agentpg_waits behind client.approvals.list,
 * client.inputs.list and the console.
 */
export async function listWaits(db: Queryable, kind: 'approval' | 'input', filter: WaitFilter): Promise<WaitRow[]> {
  const { rows } = await db.query<WaitRow>(
    `select run_id, session_id, tenant_id, agent_name, run_state, tool_use_id, tool_name, subject, requested_at, deadline
       from agentpg_waits
      where kind = $1
        and ($2::text is null or tenant_id = $2) and ($3::text is null or agent_name = $3)
        and ($4::uuid is null or run_id = $4)
      limit $5`,
    [kind, filter.tenantId ?? null, filter.agentName ?? null, filter.runId ?? null, filter.limit ?? 100],
  );
  return rows;
}

/** What every pending wait has (PendingApproval and PendingInput add their subject). */
export interface PendingWait {
  runId: string;
  sessionId: string;
  tenantId: string;
  agentName: string;
  toolUseId: string;
  toolName: string;
  requestedAt: Date;
  deadline: Date | null;
  /** The run's state: `awaiting_input` once it has suspended (a moment after the request). */
  runState: string;
}

/** The fields every pending wait has, from its row. */
export function pendingWaitFields(r: WaitRow): PendingWait {
  return {
    runId: r.run_id,
    sessionId: r.session_id,
    tenantId: r.tenant_id,
    agentName: r.agent_name,
    toolUseId: r.tool_use_id,
    toolName: r.tool_name,
    requestedAt: r.requested_at,
    deadline: r.deadline,
    runState: r.run_state,
  };
}
