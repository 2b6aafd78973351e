/** How long a question waits for its answer when requestInput() sets no timeoutMs: 24 hours. */
export const DEFAULT_INPUT_TIMEOUT_MS = 24 * 60 * 60 * 1000;
const MAX_QUESTION_CHARS = 10_000;

const MARK = Symbol.for('agentpg.inputRequest');

/** What a tool returns to ask the user a question (see requestInput). */
export interface InputRequest {
  readonly [MARK]: true;
  readonly question: string;
  readonly timeoutMs: number;
}

/**
 * Returned by a tool's `execute` to ask the user a question instead of answering the model now:
 * `return requestInput({ question: 'Which account?' })`. The run waits in `awaiting_input`,
 * holding no worker, until someone answers (client.inputs.answer, POST /v1/runs/:id/inputs,
 * `agentpg inputs answer`, or the SQL function agentpg_answer_input). The answer is the call's
 * tool_result: the model reads it and goes on; the tool is not run again. No answer within
 * `timeoutMs` (default 24 h): the model gets an is_error result "timed out waiting for an answer".
 */
export function requestInput(request: { question: string; timeoutMs?: number }): InputRequest {
  const { question, timeoutMs = DEFAULT_INPUT_TIMEOUT_MS } = request ?? ({} as { question: string });
  if (typeof question !== 'string' || question.trim() === '' || question.length > MAX_QUESTION_CHARS)
    throw new TypeError(
      `requestInput: question must be a non-empty string of at most ${MAX_QUESTION_CHARS} characters`,
    );
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new TypeError('requestInput: timeoutMs must be a positive integer');
  return { [MARK]: true, question, timeoutMs };
}

export function isInputRequest(value: unknown): value is InputRequest {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
