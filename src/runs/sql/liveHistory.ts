import type { Queryable } from '../../db/queryable.js';
import type { Compaction } from '../compactionTypes.js';
import type { StoredMessage } from '../types.js';
import { readPickUp } from './readPickUp.js';

export interface LiveHistory {
  /** The session's latest compaction, or null. */
  compaction: Compaction | null;
  /** The messages after it (seq > compaction.throughSeq), in order. */
  messages: StoredMessage[];
}

/**
 * Per session, the latest compaction and the messages since: what the model will see, bounded by
 * that and not by the session's age (readPickUp.ts, without tool calls).
 */
export async function readLiveHistory(db: Queryable, sessionIds: string[]): Promise<Map<string, LiveHistory>> {
  return (await readPickUp(db, sessionIds, [])).live;
}
