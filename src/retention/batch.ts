import type { Pool } from '../db/connection.js';
import { keepRetirableSessions } from './sql/keepRetirableSessions.js';
import { lockRetirableSessions } from './sql/lockRetirableSessions.js';
import { recordRetentionBatch, type RetiredCounts } from './sql/retentionPasses.js';
import { RETIRED_TABLES, retireRows } from './sql/retireRows.js';
import { scanFinishedRuns, type ScanCursor } from './sql/scanFinishedRuns.js';
import { setBatchTimeouts } from './sql/setBatchTimeouts.js';
import type { RetentionPolicy } from './settings.js';

/** How long a batch waits for a row lock before it gives up (rolled back; the next pass retries). */
export const BATCH_LOCK_TIMEOUT_MS = 2_000;
/** Bound on each statement of a batch. */
export const BATCH_STATEMENT_TIMEOUT_MS = 30_000;
/**
 * Finished runs one batch reads: sessions usually have several runs, and old runs of sessions
 * that stay (in use, held) share the range, so a window holds several times batchSize runs. An
 * index range of a few hundred entries is cheap, and a window with nothing to retire only moves
 * the cursor on.
 */
const scanWindow = (batchSize: number) => Math.max(batchSize * 4, 500);

export interface BatchResult extends RetiredCounts {
  /** Where the next batch of this sweep starts. */
  cursor: ScanCursor;
  /** The sweep reached the age cut: nothing after the cursor to look at. */
  done: boolean;
}

export interface BatchHooks {
  /** Called inside the batch's transaction after its deletes, before COMMIT (crash tests). */
  beforeCommit?(counts: RetiredCounts): Promise<void>;
}

/**
 * One batch, one short transaction (READ COMMITTED, lock and statement timeouts): read the next
 * window of old finished runs, lock up to `batchSize` of their sessions that may be retired
 * (SKIP LOCKED), recheck them with a fresh snapshot, then delete (or move) their tool calls,
 * messages, compactions, runs and the sessions, and add the counts to the pass row. The COMMIT is
 * the statement that makes the batch durable: a crash before it retires nothing of the batch, so
 * a session is retired whole or not at all.
 */
export async function retireBatch(
  pool: Pool,
  b: {
    passId: number;
    policy: RetentionPolicy;
    cursor: ScanCursor;
    batchSize: number;
    archive: boolean;
    hooks?: BatchHooks;
  },
): Promise<BatchResult> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin isolation level read committed');
    try {
      await setBatchTimeouts(client, BATCH_LOCK_TIMEOUT_MS, BATCH_STATEMENT_TIMEOUT_MS);
      const { maxAgeMs } = b.policy;
      const scanLimit = scanWindow(b.batchSize);
      const window = await scanFinishedRuns(client, {
        maxAgeMs,
        tenantId: b.policy.tenantId,
        exceptTenants: b.policy.exceptTenants,
        cursor: b.cursor,
        limit: scanLimit,
      });
      const locked =
        window.sessionIds.length > 0
          ? await lockRetirableSessions(client, window.sessionIds, maxAgeMs, b.batchSize)
          : [];
      const kept = locked.length > 0 ? await keepRetirableSessions(client, locked, maxAgeMs) : [];
      const counts: RetiredCounts = { sessions: 0, runs: 0, messages: 0, toolCalls: 0, compactions: 0 };
      if (kept.length > 0) {
        for (const table of RETIRED_TABLES) counts[table.counts] = await retireRows(client, table, kept, b.archive);
        await recordRetentionBatch(client, b.passId, counts);
      }
      await b.hooks?.beforeCommit?.(counts);
      await client.query('commit');
      // A full batch may have left retirable sessions of this window unlocked (over the limit):
      // the next batch reads the same window again (what this one retired is gone from it).
      const full = locked.length >= b.batchSize;
      return {
        ...counts,
        cursor: full ? b.cursor : window.last,
        done: !full && window.runs < scanLimit,
      };
    } catch (err) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
