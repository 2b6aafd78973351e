import type { Queryable } from '../db/queryable.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { isUuid } from './rows.js';
import { checkName, checkWaitFilter, waitWriteError } from './waitChecks.js';
import { decideToolCall, listPendingApprovals, type Decision, type PendingApproval } from './sql/approvals.js';

export type { Decision, PendingApproval };

const MAX_MESSAGE_CHARS = 10_000;

/**
 * `client.approvals`: tool calls waiting for a person (tools with needsApproval), from any
 * instance. A decision re-queues the run in the same statement when it was the last one it waited
 * for; any instance's worker then resumes it.
 */
export class ApprovalsApi {
  /** @internal */
  constructor(private readonly rt: () => Runtime) {}

  /** Pending approvals, oldest first (at most `limit`, default 100). */
  async list(
    filter: { tenantId?: string; agentName?: string; runId?: string; limit?: number } = {},
  ): Promise<PendingApproval[]> {
    return await listApprovals(this.rt().pool, filter);
  }

  /**
   * Records who decided what on one waiting tool call. `approve` runs the tool (with `input`
   * instead of the model's, when given: checked against the tool's schema when it runs); `deny`
   * answers the model with an is_error tool_result carrying `message`. Returns the run's state
   * after the decision (`queued` when the run resumes now, `awaiting_input` while other calls of
   * it still wait). NotFoundError when no such call waits; AlreadyDecidedError when it was decided.
   */
  async decide(runId: string, decision: Decision): Promise<{ runState: string }> {
    return await recordDecision(this.rt().pool, runId, decision);
  }
}

/** client.approvals.list() on any connection (the CLI's too). */
export async function listApprovals(
  db: Queryable,
  filter: { tenantId?: string; agentName?: string; runId?: string; limit?: number },
): Promise<PendingApproval[]> {
  const checked = checkWaitFilter(filter);
  return checked ? await listPendingApprovals(db, checked) : [];
}

/** client.approvals.decide() on any connection (the CLI's too): checked, then agentpg_decide_tool_call. */
export async function recordDecision(db: Queryable, runId: string, decision: Decision): Promise<{ runState: string }> {
  if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
  const d = decision as Partial<Decision> | undefined;
  if (!d) throw new ValidationError('a decision is required');
  checkName(d.toolUseId, 'toolUseId');
  if (d.decision !== 'approve' && d.decision !== 'deny')
    throw new ValidationError("decision must be 'approve' or 'deny'");
  checkName(d.decidedBy, 'decidedBy');
  if (d.message != null && (typeof d.message !== 'string' || d.message.length > MAX_MESSAGE_CHARS))
    throw new ValidationError(`message must be a string of at most ${MAX_MESSAGE_CHARS} characters`);
  if (d.input !== undefined && d.decision !== 'approve') throw new ValidationError('input goes with approve only');
  if (d.input !== undefined && (d.input === null || typeof d.input !== 'object' || Array.isArray(d.input)))
    throw new ValidationError('input must be a JSON object');
  try {
    return { runState: await decideToolCall(db, runId, d as Decision) };
  } catch (err) {
    throw waitWriteError(
      err,
      () => new NotFoundError('tool call waiting for approval', `${runId}/${d.toolUseId}`),
      () => `tool call ${d.toolUseId} of run ${runId} is already decided`,
    );
  }
}
