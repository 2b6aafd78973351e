import type { Queryable } from '../../db/queryable.js';
import { OWNERSHIP_CHANNEL } from '../../events/channels.js';

/** NOTIFY on the ownership channel (e.g. {"e":"released"} after a hand-over): other instances sweep. */
export async function notifyOwnership(db: Queryable, payload: Record<string, unknown>): Promise<void> {
  await db.query(`select pg_notify($1, $2)`, [OWNERSHIP_CHANNEL, JSON.stringify(payload)]);
}
