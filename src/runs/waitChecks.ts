import type { Queryable } from '../db/queryable.js';
import { AlreadyDecidedError, NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { isUuid } from './rows.js';
import type { WaitFilter } from './sql/listWaits.js';

/**
 * What deciding an approval and answering a question share (approvals.ts, inputs.ts): the list
 * and its filter, the run's and the tool call's ids, who acted, and the SQL errors of
 * agentpg_decide_tool_call and agentpg_answer_input turned into the library's errors.
 */

/** One kind of wait a person ends: approvals (a decision) or input requests (an answer). */
export interface WaitKind<Pending, Write extends { toolUseId: string }> {
  list(db: Queryable, filter: WaitFilter): Promise<Pending[]>;
  /** What the write is called in errors ('a decision', 'an answer'). */
  writeName: string;
  /** Past its run id and tool call id: throws ValidationError unless `w` is a well-formed write. */
  check(w: Partial<Write>): void;
  /** The SQL function's call; returns the run's state after it. */
  write(db: Queryable, runId: string, w: Write): Promise<string>;
  /** The NotFoundError's subject when no such call waits. */
  waiting: string;
  /** The AlreadyDecidedError's message. */
  already(runId: string, toolUseId: string): string;
}

/** The waits of this kind, oldest first (client.approvals.list(), client.inputs.list(), the CLI's). */
export async function listWaitsOf<P, W extends { toolUseId: string }>(
  kind: WaitKind<P, W>,
  db: Queryable,
  filter: WaitFilter,
): Promise<P[]> {
  const checked = checkWaitFilter(filter);
  return checked ? await kind.list(db, checked) : [];
}

/** A decision or an answer on any connection (the CLI's too): checked, then its SQL function. */
export async function recordWait<P, W extends { toolUseId: string }>(
  kind: WaitKind<P, W>,
  db: Queryable,
  runId: string,
  write: W | undefined,
): Promise<{ runState: string }> {
  if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
  if (!write) throw new ValidationError(`${kind.writeName} is required`);
  checkName(write.toolUseId, 'toolUseId');
  kind.check(write);
  try {
    return { runState: await kind.write(db, runId, write) };
  } catch (err) {
    throw waitWriteError(
      err,
      () => new NotFoundError(kind.waiting, `${runId}/${write.toolUseId}`),
      () => kind.already(runId, write.toolUseId),
    );
  }
}

/** `client.approvals` and `client.inputs`: one kind of wait, from any instance. */
export class WaitsApi<P, W extends { toolUseId: string }> {
  /** @internal */
  constructor(
    private readonly rt: () => Runtime,
    private readonly kind: WaitKind<P, W>,
  ) {}

  /** Oldest first (at most `limit`, default 100), optionally of one tenant, agent and/or run. */
  async list(filter: WaitFilter = {}): Promise<P[]> {
    return await listWaitsOf(this.kind, this.rt().pool, filter);
  }

  protected async record(runId: string, write: W): Promise<{ runState: string }> {
    return await recordWait(this.kind, this.rt().pool, runId, write);
  }
}

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
