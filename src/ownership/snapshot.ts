import { createHash } from 'node:crypto';
import type { Queryable } from '../db/queryable.js';
import { LOCK_NAMESPACE } from './options.js';
import { readOwnershipSnapshot } from './sql/readOwnershipSnapshot.js';

/** application_name of a lock session: other instances count members by it. */
export const MEMBER_PREFIX = 'agentpg-lock:';
/** Set on the lock sessions of an instance that is stopping: no longer a member, locks not yet free. */
export const LEAVING_PREFIX = 'agentpg-leaving:';

/** How an instance appears in application_name (<= 63 bytes, printable ASCII). */
export function memberTag(instanceId: string): string {
  return /^[\x20-\x7e]{1,48}$/.test(instanceId)
    ? instanceId
    : `h:${createHash('sha256').update(instanceId).digest('hex').slice(0, 40)}`;
}

export interface ShardLock {
  shard: number;
  pid: number;
  /** Member tag of the holder (null: a session that is not, or no longer, a member). */
  holder: string | null;
}

export interface OwnershipSnapshot {
  shardCount: number;
  members: string[];
  locks: ShardLock[];
}

/** Shard ownership as Postgres sees it right now (one round trip, see readOwnershipSnapshot). */
export async function readSnapshot(pool: Queryable): Promise<OwnershipSnapshot> {
  const row = await readOwnershipSnapshot(pool, LOCK_NAMESPACE);
  return {
    shardCount: row.shard_count,
    members: row.members.map((a) => a.slice(MEMBER_PREFIX.length)),
    locks: row.locks.map(([shard, pid, app]) => ({
      shard: Number(shard),
      pid,
      holder: app?.startsWith(MEMBER_PREFIX) ? app.slice(MEMBER_PREFIX.length) : null,
    })),
  };
}
