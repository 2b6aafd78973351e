import { ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkName, WaitsApi, type WaitKind } from './waitChecks.js';
import { decideToolCall, listPendingApprovals, type Decision, type PendingApproval } from './sql/approvals.js';

export type { Decision, PendingApproval };

const MAX_MESSAGE_CHARS = 10_000;

/** Decisions on tool calls waiting for a person's approval (tools with needsApproval). */
export const APPROVALS: WaitKind<PendingApproval, Decision> = {
  list: listPendingApprovals,
  writeName: 'a decision',
  check(d) {
    if (d.decision !== 'approve' && d.decision !== 'deny')
      throw new ValidationError("decision must be 'approve' or 'deny'");
    checkName(d.decidedBy, 'decidedBy');
    if (d.message != null && (typeof d.message !== 'string' || d.message.length > MAX_MESSAGE_CHARS))
      throw new ValidationError(`message must be a string of at most ${MAX_MESSAGE_CHARS} characters`);
    if (d.input !== undefined && d.decision !== 'approve') throw new ValidationError('input goes with approve only');
    if (d.input !== undefined && (d.input === null || typeof d.input !== 'object' || Array.isArray(d.input)))
      throw new ValidationError('input must be a JSON object');
  },
  write: decideToolCall,
  waiting: 'tool call waiting for approval',
  already: (runId, toolUseId) => `tool call ${toolUseId} of run ${runId} is already decided`,
};

/**
 * `client.approvals`: tool calls waiting for a person (tools with needsApproval), from any
 * instance; `list()` gives the pending approvals. A decision re-queues the run in the same
 * statement when it was the last one it waited for; any instance's worker then resumes it.
 */
export class ApprovalsApi extends WaitsApi<PendingApproval, Decision> {
  /** @internal */
  constructor(rt: () => Runtime) {
    super(rt, APPROVALS);
  }

  /**
   * Records who decided what on one waiting tool call. `approve` runs the tool (with `input`
   * instead of the model's, when given: checked against the tool's schema when it runs); `deny`
   * answers the model with an is_error tool_result carrying `message`. Returns the run's state
   * after the decision (`queued` when the run resumes now, `awaiting_input` while other calls of
   * it still wait). NotFoundError when no such call waits; AlreadyDecidedError when it was decided.
   */
  async decide(runId: string, decision: Decision): Promise<{ runState: string }> {
    return await this.record(runId, decision);
  }
}
