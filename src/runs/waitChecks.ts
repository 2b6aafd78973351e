import { AlreadyDecidedError, NotFoundError, ValidationError } from '../errors.js';
import { isUuid } from './rows.js';
import type { WaitFilter } from './sql/listWaits.js';

/**
 * The checks that deciding an approval and answering a question share (approvals.ts, inputs.ts):
 * the list filter, the tool call's id, who acted, and the SQL errors of agentpg_decide_tool_call and
 * agentpg_answer_input turned into the library's errors.
 */

/** The filter checked; null when it cannot match anything (a run id that is not a UUID). */
export function checkWaitFilter(filter: WaitFilter): WaitFilter | null {
  if (filter.runId !== undefined && !isUuid(filter.runId)) return null;
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 1000))
    throw new ValidationError('limit must be an integer from 1 to 1000');
  return filter;
}

/** A tool_use id or an actor's name: a string of 1 to 255 characters. */
export function checkName(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255)
    throw new ValidationError(`${field} must be a string of 1 to 255 characters`);
}

/**
 * The SQL functions raise P0002 when no such call waits, 55000 when it was decided or answered
 * already, 22023 for input they refuse; anything else is passed on as it is.
 */
export function waitWriteError(err: unknown, notFound: () => NotFoundError, already: () => string): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'P0002') return notFound();
  if (code === '55000') return new AlreadyDecidedError(already());
  if (code === '22023') return new ValidationError((err as Error).message);
  return err;
}
