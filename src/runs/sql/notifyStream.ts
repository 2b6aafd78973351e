import type { Queryable } from '../../db/queryable.js';
import { RUN_STREAM_CHANNEL } from '../../events/channels.js';

/**
 * Sends stream events with ONE statement. The target list is evaluated left to right, so the
 * notifications keep their order; inside a transaction they are delivered at its commit, before
 * the state change the same transaction makes (its trigger notifies later in the transaction).
 */
export async function notifyStream(db: Queryable, payloads: string[]): Promise<void> {
  if (payloads.length === 0) return;
  const calls = payloads.map((_, i) => `pg_notify('${RUN_STREAM_CHANNEL}', $${i + 1})`).join(', ');
  await db.query(`select ${calls}`, payloads);
}
