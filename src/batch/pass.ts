import type { Runtime } from '../runtime.js';
import { acquirePassLock } from './passLock.js';
import { anyBatchWork } from './sql/anyBatchWork.js';
import { pollSubmission } from './poll.js';
import { reconcileCreating } from './reconcile.js';
import { resolveBatchSettings } from './settings.js';
import { openSubmissions } from './sql/openSubmissions.js';
import { submitPending } from './submit.js';
import type { BatchPassSummary } from './passSummary.js';

export type { BatchPassSummary } from './passSummary.js';

/**
 * One poll pass of the cluster (service.ts runs it as a pg-boss singleton job): under the pass
 * lock (passLock.ts), (1) `creating` submissions left by a dead pass are reconciled
 * (reconcile.ts), (2) every submitted batch is polled and an ended one's results stored
 * (poll.ts), (3) pending requests of waiting runs are sent in new batches (submit.ts). Each step
 * is its own guarded statement or transaction: a pass that dies half-way leaves finished steps
 * behind, and the next pass does the rest (the steps, and which statement makes each durable:
 * submit.ts, results.ts).
 */
export async function runBatchPass(rt: Runtime): Promise<BatchPassSummary> {
  const settings = resolveBatchSettings(rt.config.batch);
  const summary: BatchPassSummary = { ran: false, submitted: 0, polled: 0, resumed: 0 };
  // Nothing pending and nothing open: no pass, and so no pass-lock connection (most passes of a
  // cluster without batch agents). Work stored after this read waits for the next pass.
  if (!(await anyBatchWork(rt.pool))) return summary;
  const lock = await acquirePassLock(rt.config.databaseUrl);
  if (!lock) return summary;
  try {
    summary.ran = true;
    const open = await openSubmissions(rt.pool);
    summary.resumed += await reconcileCreating(rt, settings, open);
    for (const sub of open) {
      if (sub.state !== 'in_progress' || sub.batchId === null) continue;
      summary.polled++;
      try {
        summary.resumed += await pollSubmission(rt, settings, { ...sub, batchId: sub.batchId });
      } catch (err) {
        // One batch that cannot be polled now (an API error) does not hold up the others.
        rt.reportError(err, `batch poll of ${sub.batchId}`);
      }
    }
    summary.submitted = await submitPending(rt, settings);
    return summary;
  } finally {
    await lock.release();
  }
}
