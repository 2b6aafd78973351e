import { rowMapper, type DbRow } from '../db/rows.js';
import { runs, sessions } from '../db/schema/index.js';
import type { Run, Session } from './types.js';

export type RunRow = DbRow<typeof runs>;
export type SessionRow = DbRow<typeof sessions>;

const runOf = rowMapper(runs, ['stateChangedAt']);
const sessionOf = rowMapper(sessions);

/** agentpg_runs row (snake_case, as pg returns it) → Run. */
export function mapRun(r: RunRow): Run {
  const run = runOf(r);
  return { ...run, context: run.context ?? {} };
}

export function mapSession(r: SessionRow): Session {
  return sessionOf(r);
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
