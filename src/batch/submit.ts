import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { withTransaction } from '../db/connection.js';
import type { Runtime } from '../runtime.js';
import { isRetryableModelStatus } from '../runs/failures.js';
import { resumeBatchWaits } from '../runs/sql/resumeBatchWaits.js';
import type { ResolvedBatchSettings } from './settings.js';
import { abandonSubmission } from './sql/abandonSubmission.js';
import { failSubmissionRequests } from './sql/failSubmissionRequests.js';
import { recordBatchCreated } from './sql/recordBatchCreated.js';
import { recordSubmission } from './sql/recordSubmission.js';
import { emitBatchStep } from './steps.js';

/**
 * Sends the pending requests of waiting runs, up to maxRequestsPerBatch per batch, as many batches
 * as it takes. Per batch, the order that makes it crash-safe:
 *
 * 1. `submission_recorded` (recordSubmission, one autocommit statement): the submission row
 *    (`creating`) and its requests (`submitting`) BEFORE the create request is sent.
 * 2. POST /v1/messages/batches. Nothing durable: `batch_created` is only a point (onStep).
 * 3. `batch_recorded` (recordBatchCreated, one autocommit statement): the batch id.
 *
 * A crash between 1 and 3 leaves a `creating` submission whose create may or may not have reached
 * the API: never sent again blindly; the next pass reconciles it (reconcile.ts). A create that got
 * an HTTP answer other than 200 created nothing: a retryable status (429, 5xx: failures.ts) puts the
 * requests back to `pending` for a later pass; any other status errors them (their runs fail with
 * the API's error type). A create without an answer (connection lost, timeout) may have created
 * the batch: left `creating`, for reconciliation. Returns how many requests were sent.
 */
export async function submitPending(rt: Runtime, settings: ResolvedBatchSettings): Promise<number> {
  let sent = 0;
  for (;;) {
    const submissionId = randomUUID();
    const requests = await recordSubmission(rt.pool, submissionId, settings.maxRequestsPerBatch);
    if (requests.length === 0) return sent;
    const customIds = requests.map((r) => r.customId);
    await emitBatchStep(rt, settings, 'submission_recorded', { submissionId, customIds });
    let batchId: string;
    try {
      const batch = await rt.anthropic.messages.batches.create({
        requests: requests.map((r) => ({ custom_id: r.customId, params: r.params })),
      });
      batchId = batch.id;
    } catch (err) {
      if (!(err instanceof Anthropic.APIError) || typeof err.status !== 'number') {
        // No answer: the outcome is unknown. Left `creating`; never sent twice (reconcile.ts).
        rt.reportError(err, `batch create of submission ${submissionId} (outcome unknown, reconciled later)`);
        return sent;
      }
      if (isRetryableModelStatus(err.status)) {
        await abandonSubmission(rt.pool, submissionId);
        rt.reportError(err, `batch create of submission ${submissionId} (retried by a later pass)`);
        return sent;
      }
      const envelope = {
        type: 'error',
        error: { type: err.type ?? 'invalid_request_error', message: (err.apiMessage ?? err.message).slice(0, 2000) },
        request_id: err.requestID ?? null,
      };
      await withTransaction(rt.pool, async (tx) =>
        resumeBatchWaits(tx, await failSubmissionRequests(tx, submissionId, envelope)),
      );
      continue;
    }
    await emitBatchStep(rt, settings, 'batch_created', { submissionId, batchId, customIds });
    await recordBatchCreated(rt.pool, submissionId, batchId);
    await emitBatchStep(rt, settings, 'batch_recorded', { submissionId, batchId, customIds });
    sent += requests.length;
  }
}
