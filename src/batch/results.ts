import type Anthropic from '@anthropic-ai/sdk';
import { withTransaction } from '../db/connection.js';
import type { Runtime } from '../runtime.js';
import { resumeBatchWaits } from '../runs/sql/resumeBatchWaits.js';
import { endSubmission } from './sql/endSubmission.js';
import { storeResults, type StoredResult } from './sql/storeResults.js';

/** Every result line of an ended batch (GET .../results, JSONL, in no particular order). */
export async function fetchResults(anthropic: Anthropic, batchId: string): Promise<StoredResult[]> {
  const out: StoredResult[] = [];
  for await (const line of await anthropic.messages.batches.results(batchId)) {
    const r = line.result;
    out.push({
      customId: line.custom_id,
      type: r.type,
      result: r.type === 'succeeded' ? r.message : r.type === 'errored' ? r.error : null,
    });
  }
  return out;
}

/**
 * Step `results_stored`: ONE transaction (durable at its COMMIT): each result on its request
 * (storeResults), the submission `ended` with its batch id (endSubmission), and every run whose
 * request got a result back to `queued` with its job due now (resumeBatchWaits, the runs module's
 * statement). A crash before the COMMIT stores nothing: the next pass polls the batch again (the
 * API keeps results 29 days) and stores them then. Returns how many runs were resumed.
 */
export async function storeBatchResults(
  rt: Runtime,
  submissionId: string,
  batchId: string,
  results: StoredResult[],
): Promise<number> {
  return withTransaction(rt.pool, async (tx) => {
    const runs = await storeResults(tx, submissionId, results);
    runs.push(...(await endSubmission(tx, submissionId, batchId)));
    return resumeBatchWaits(tx, [...new Set(runs)]);
  });
}
