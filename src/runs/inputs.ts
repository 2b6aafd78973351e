import { ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkName, WaitsApi, type WaitKind } from './waitChecks.js';
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

/** Answers to the questions tools asked the user (requestInput). */
export const INPUTS: WaitKind<PendingInput, Answer> = {
  list: listPendingInputs,
  writeName: 'an answer',
  check(a) {
    if (typeof a.answer !== 'string' || Buffer.byteLength(a.answer) > MAX_ANSWER_BYTES)
      throw new ValidationError(`answer must be a string of at most ${MAX_ANSWER_BYTES} bytes`);
    if (a.answer.includes('\u0000')) throw new ValidationError('answer must not contain NUL characters');
    checkName(a.answeredBy, 'answeredBy');
  },
  write: answerInput,
  waiting: 'tool call waiting for an answer',
  already: (runId, toolUseId) => `the question of tool call ${toolUseId} of run ${runId} is answered already`,
};

/**
 * `client.inputs`: questions tools asked the user (requestInput), from any instance; `list()`
 * gives the questions waiting for an answer. An answer re-queues the run in the same statement
 * when it was the last thing it waited for; any instance's worker then resumes it.
 */
export class InputsApi extends WaitsApi<PendingInput, Answer> {
  /** @internal */
  constructor(rt: () => Runtime) {
    super(rt, INPUTS);
  }

  /**
   * Records the answer to one waiting question: it becomes the call's tool_result (the tool is not
   * run again). Returns the run's state after it (`queued` when the run resumes now). NotFoundError
   * when no such question waits; AlreadyDecidedError when it was answered or timed out.
   */
  async answer(runId: string, answer: Answer): Promise<{ runState: string }> {
    return await this.record(runId, answer);
  }
}
