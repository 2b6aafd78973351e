import Anthropic from '@anthropic-ai/sdk';
import type { Runtime } from '../runtime.js';
import { fetchResults, storeBatchResults } from './results.js';
import type { ResolvedBatchSettings } from './settings.js';
import type { OpenSubmission } from './sql/openSubmissions.js';
import { touchSubmission } from './sql/touchSubmission.js';
import { emitBatchStep } from './steps.js';

/**
 * One poll of a submitted batch (GET /v1/messages/batches/{id}): still processing, it is only
 * touched; ended, its results are fetched and stored, and its runs resumed (results.ts,
 * step `results_stored`). A `canceling` batch is polled like an in-progress one until it ends; a
 * batch the API no longer knows (404) ends with its requests `expired`.
 * Returns how many runs were resumed.
 */
export async function pollSubmission(
  rt: Runtime,
  settings: ResolvedBatchSettings,
  sub: OpenSubmission & { batchId: string },
): Promise<number> {
  let batch: Anthropic.Messages.MessageBatch;
  try {
    batch = await rt.anthropic.messages.batches.retrieve(sub.batchId);
  } catch (err) {
    if (!(err instanceof Anthropic.NotFoundError)) throw err;
    // The batch is gone (deleted, or archived with its results): its requests are `expired`
    // (endSubmission), so their runs try again in a new batch (up to batch.maxTries) instead of
    // waiting forever for a batch that no longer exists.
    rt.logger.warn({ submissionId: sub.id, batchId: sub.batchId }, 'batch not found: its requests expire');
    return storeBatchResults(rt, sub.id, sub.batchId, []);
  }
  if (batch.processing_status !== 'ended') {
    await touchSubmission(rt.pool, sub.id);
    return 0;
  }
  const results = await fetchResults(rt.anthropic, sub.batchId);
  const resumed = await storeBatchResults(rt, sub.id, sub.batchId, results);
  await emitBatchStep(rt, settings, 'results_stored', {
    submissionId: sub.id,
    batchId: sub.batchId,
    customIds: sub.customIds,
  });
  return resumed;
}
