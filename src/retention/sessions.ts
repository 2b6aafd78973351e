// Export and holds of one session: the validated functions behind client.sessions.export/hold/
// releaseHold, the HTTP routes (src/service/sessionRoutes.ts) and `agentpg sessions ...`.
import type { Queryable } from '../db/queryable.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { isUuid } from '../runs/rows.js';
import { exportSessionRows, type SessionExportRows } from './sql/exportSession.js';
import { releaseHold } from './sql/releaseHold.js';
import { setHold, type SessionHold } from './sql/setHold.js';

export type { SessionHold };

/** The export's format name; a change of its shape gets a new one. */
export const SESSION_EXPORT_FORMAT = 'agentpg.session.v1';

/**
 * A session and everything stored about it (its runs, messages, tool calls, compactions and hold),
 * rows as stored, column names as in the tables: what retention would delete, taken beforehand.
 */
export interface SessionExport extends SessionExportRows {
  format: typeof SESSION_EXPORT_FORMAT;
  exportedAt: string;
}

const MAX_REASON = 10_000;

export async function exportSession(db: Queryable, sessionId: string): Promise<SessionExport> {
  if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
  const rows = await exportSessionRows(db, sessionId);
  if (!rows) throw new NotFoundError('session', sessionId);
  return { format: SESSION_EXPORT_FORMAT, exportedAt: new Date().toISOString(), ...rows };
}

export async function holdSession(
  db: Queryable,
  sessionId: string,
  options: { reason?: string; heldBy?: string } = {},
): Promise<SessionHold> {
  if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
  const { reason, heldBy } = options;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON))
    throw new ValidationError(`reason must be a string of at most ${MAX_REASON} characters`);
  if (heldBy !== undefined && (typeof heldBy !== 'string' || heldBy.length === 0 || heldBy.length > 255))
    throw new ValidationError('heldBy must be a string of 1 to 255 characters');
  const hold = await setHold(db, { sessionId, reason: reason ?? null, heldBy: heldBy ?? null });
  if (!hold) throw new NotFoundError('session', sessionId);
  return hold;
}

/** Lifts the hold; false when the session had none. */
export async function releaseSessionHold(db: Queryable, sessionId: string): Promise<boolean> {
  if (!isUuid(sessionId)) return false;
  return await releaseHold(db, sessionId);
}
