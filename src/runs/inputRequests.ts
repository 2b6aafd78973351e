import type { InputRequest } from '../model/inputRequest.js';
import type { Runtime } from '../runtime.js';
import { storeInputRequest } from './sql/inputRequests.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import type { StreamBuffer } from './streamBuffer.js';

/** The question shown in the `input_requested` stream event (the row keeps all of it). */
const EVENT_QUESTION_CHARS = 2000;

/**
 * A tool returned requestInput(): its call goes running → awaiting_input with the question, fenced
 * on the call's attempt (sql/inputRequests.ts storeInputRequest: ONE autocommit statement, which
 * also sends the `input_requested` event). Durable at that commit: step `input_requested`. The
 * executor then suspends the run with the rest of the turn (approvalGate.ts suspendForApproval:
 * the same wait as an approval). Returns false when a newer execution took the call over.
 */
export async function storeQuestion(
  rt: Runtime,
  stream: StreamBuffer,
  row: ToolCallRow,
  attempt: number,
  request: InputRequest,
): Promise<boolean> {
  const chars = Array.from(request.question);
  const cut = chars.length > EVENT_QUESTION_CHARS;
  const payload = stream.payloadFor({
    type: 'input_requested',
    toolUseId: row.toolUseId,
    name: row.toolName,
    question: cut ? chars.slice(0, EVENT_QUESTION_CHARS).join('') : request.question,
    deadline: '', // set by the statement, from the row
    ...(cut ? { truncated: true } : {}),
  });
  return await storeInputRequest(
    rt.pool,
    { id: row.id, attempt, question: request.question, timeoutMs: request.timeoutMs },
    payload,
  );
}

/** Whether a call of the turn waits for a person: a decision (approval) or an answer (input request). */
export function waitsForPerson(row: ToolCallRow): boolean {
  return (row.approval === 'pending' && row.state === 'pending') || row.state === 'awaiting_input';
}
