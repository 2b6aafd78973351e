import type { Pool } from '../db/connection.js';
import { retireBatch, type BatchHooks } from './batch.js';
import type { RetentionSettings } from './settings.js';
import {
  beginRetentionPass,
  finishRetentionPass,
  pruneRetentionPasses,
  type RetiredCounts,
} from './sql/retentionPasses.js';
import { SCAN_START } from './sql/scanFinishedRuns.js';

/** The pass log keeps this long (metrics read its last 24 hours). */
const PASS_LOG_KEEP_MS = 30 * 24 * 60 * 60_000;

/** What one retention pass did; handed to config.onRetentionPass. */
export interface RetentionPassSummary extends RetiredCounts {
  passId: number;
  instanceId: string;
  jobId: string | null;
  mode: 'delete' | 'archive';
  startedAt: Date;
  durationMs: number;
  /** Sessions retired by each batch that retired any, in order (each <= batchSize). */
  batchSizes: number[];
  /** The pass stopped early because its instance is stopping (the next pass goes on). */
  interrupted: boolean;
  error: string | null;
}

/**
 * One pass: for each policy (per-tenant ages first, then the global one), batches from the oldest
 * finished run on until the sweep reaches the age cut. Each batch commits on its own (batch.ts),
 * so a pass that dies or stops half-way leaves whole sessions retired or untouched, and the next
 * pass picks up the rest; the pass row's counts grow with each batch's commit.
 */
export async function runRetentionPass(o: {
  pool: Pool;
  instanceId: string;
  jobId: string | null;
  settings: RetentionSettings;
  /** Checked between batches: true stops the pass there. */
  shouldStop?: () => boolean;
  hooks?: BatchHooks;
}): Promise<RetentionPassSummary> {
  const { pool, settings } = o;
  const started = Date.now();
  const passId = await beginRetentionPass(pool, { jobId: o.jobId, instanceId: o.instanceId, mode: settings.mode });
  const totals: RetiredCounts = { sessions: 0, runs: 0, messages: 0, toolCalls: 0, compactions: 0 };
  const batchSizes: number[] = [];
  let interrupted = false;
  let error: string | null = null;
  try {
    sweeps: for (const policy of settings.policies) {
      let cursor = SCAN_START;
      for (;;) {
        if (o.shouldStop?.()) {
          interrupted = true;
          break sweeps;
        }
        const r = await retireBatch(pool, {
          passId,
          policy,
          cursor,
          batchSize: settings.batchSize,
          archive: settings.mode === 'archive',
          hooks: o.hooks,
        });
        if (r.sessions > 0) batchSizes.push(r.sessions);
        for (const k of Object.keys(totals) as Array<keyof RetiredCounts>) totals[k] += r[k];
        if (r.done) break;
        cursor = r.cursor;
      }
    }
    await pruneRetentionPasses(pool, PASS_LOG_KEEP_MS);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  await finishRetentionPass(pool, passId, error);
  return {
    passId,
    instanceId: o.instanceId,
    jobId: o.jobId,
    mode: settings.mode,
    startedAt: new Date(started),
    durationMs: Date.now() - started,
    ...totals,
    batchSizes,
    interrupted,
    error,
  };
}
