import type { Queryable } from '../db/queryable.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { isUuid } from './rows.js';
import { checkName, checkWaitFilter, waitWriteError } from './waitChecks.js';
import { answerInput, listPendingInputs, type PendingInput } from './sql/inputRequests.js';

export type { PendingInput };

/** An answer to a tool's question (requestInput). */
export interface Answer {
  toolUseId: string;
  /** The tool_result the model gets. */
  answer: string;
  /** Who answered (stored in decided_by). */
  answeredBy: string;
}

const MAX_ANSWER_BYTES = 100_000;

/**
 * `client.inputs`: questions tools asked the user (requestInput), from any instance. An answer
 * re-queues the run in the same statement when it was the last thing it waited for; any
 * instance's worker then resumes it.
 */
export class InputsApi {
  /** @internal */
  constructor(private readonly rt: () => Runtime) {}

  /** Questions waiting for an answer, oldest first (at most `limit`, default 100). */
  async list(
    filter: { tenantId?: string; agentName?: string; runId?: string; limit?: number } = {},
  ): Promise<PendingInput[]> {
    return await listInputs(this.rt().pool, filter);
  }

  /**
   * Records the answer to one waiting question: it becomes the call's tool_result (the tool is not
   * run again). Returns the run's state after it (`queued` when the run resumes now). NotFoundError
   * when no such question waits; AlreadyDecidedError when it was answered or timed out.
   */
  async answer(runId: string, answer: Answer): Promise<{ runState: string }> {
    return await recordAnswer(this.rt().pool, runId, answer);
  }
}

/** client.inputs.list() on any connection (the CLI's too). */
export async function listInputs(
  db: Queryable,
  filter: { tenantId?: string; agentName?: string; runId?: string; limit?: number },
): Promise<PendingInput[]> {
  const checked = checkWaitFilter(filter);
  return checked ? await listPendingInputs(db, checked) : [];
}

/** client.inputs.answer() on any connection (the CLI's too): checked, then agentpg_answer_input. */
export async function recordAnswer(db: Queryable, runId: string, answer: Answer): Promise<{ runState: string }> {
  if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
  const a = answer as Partial<Answer> | undefined;
  if (!a) throw new ValidationError('an answer is required');
  checkName(a.toolUseId, 'toolUseId');
  if (typeof a.answer !== 'string' || Buffer.byteLength(a.answer) > MAX_ANSWER_BYTES)
    throw new ValidationError(`answer must be a string of at most ${MAX_ANSWER_BYTES} bytes`);
  if (a.answer.includes('\u0000')) throw new ValidationError('answer must not contain NUL characters');
  checkName(a.answeredBy, 'answeredBy');
  try {
    return { runState: await answerInput(db, runId, a as Answer) };
  } catch (err) {
    throw waitWriteError(
      err,
      () => new NotFoundError('tool call waiting for an answer', `${runId}/${a.toolUseId}`),
      () => `the question of tool call ${a.toolUseId} of run ${runId} is answered already`,
    );
  }
}
