// Public type of config.onCleanupPass, apart from cleanup.ts so that the published declarations
// of the config and client do not import cleanup.ts (and through it pg-boss).
import type { CleanupCounts } from './sql/cleanupPasses.js';

/** What one pass did; handed to config.onCleanupPass. */
export interface CleanupPassSummary extends CleanupCounts {
  passId: number;
  instanceId: string;
  jobId: string | null;
  slot: Date | null;
  startedAt: Date;
  durationMs: number;
  staleInstanceIds: string[];
  stuckRunIds: string[];
  error: string | null;
}
