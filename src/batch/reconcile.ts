import type Anthropic from '@anthropic-ai/sdk';
import type { Runtime } from '../runtime.js';
import { fetchResults, storeBatchResults } from './results.js';
import type { ResolvedBatchSettings } from './settings.js';
import { abandonSubmission } from './sql/abandonSubmission.js';
import { knownBatchIds } from './sql/knownBatchIds.js';
import type { OpenSubmission } from './sql/openSubmissions.js';
import { emitBatchStep } from './steps.js';

/** Clock skew allowed between the database (created_at) and the API (a batch's created_at). */
const SKEW_MS = 5 * 60_000;
/** Pages of the batch list read at most per pass (100 batches each). */
const MAX_PAGES = 10;

/**
 * A `creating` submission left by a pass that died (the caller holds the pass lock, so its pass is
 * gone; and it is older than batch.reconcileAfterMs, so a create still in flight on the server has
 * landed): did its POST create a batch? The batch object carries no custom ids, so:
 *
 * - the API's batches created since the submission (minus clock skew) that no submission knows
 *   and that have as many requests as it are its candidates;
 * - an ENDED candidate whose results name exactly the submission's custom ids is its batch: the
 *   results are stored as usual (results.ts) — the requests were sent once, and are not sent again;
 * - a candidate still processing cannot be told apart yet: the submission waits for a later pass;
 * - no candidate at all: the create never reached the API. The submission is `abandoned` and its
 *   requests go back to `pending`, sent in the next batch: the only resend, and only of requests
 *   proved never sent.
 *
 * Custom ids are unique forever (customId.ts), so a match cannot be another submission's batch.
 * Returns how many runs were resumed.
 */
export async function reconcileCreating(
  rt: Runtime,
  settings: ResolvedBatchSettings,
  subs: OpenSubmission[],
): Promise<number> {
  const due = subs.filter((s) => s.state === 'creating' && s.ageMs >= settings.reconcileAfterMs);
  if (due.length === 0) return 0;
  const since = Math.min(...due.map((s) => s.createdAt.getTime())) - SKEW_MS;
  const recent = await listBatchesSince(rt.anthropic, since);
  const known = await knownBatchIds(
    rt.pool,
    recent.map((b) => b.id),
  );
  const unknown = recent.filter((b) => !known.has(b.id));
  let resumed = 0;
  const adopted = new Set<string>();
  for (const sub of due) {
    const candidates = unknown.filter(
      (b) =>
        !adopted.has(b.id) &&
        Date.parse(b.created_at) >= sub.createdAt.getTime() - SKEW_MS &&
        total(b.request_counts) === sub.customIds.length,
    );
    let waiting = false;
    let found = false;
    for (const b of candidates) {
      if (b.processing_status !== 'ended') {
        waiting = true;
        continue;
      }
      const results = await fetchResults(rt.anthropic, b.id);
      const ids = new Set(results.map((r) => r.customId));
      if (ids.size !== sub.customIds.length || !sub.customIds.every((id) => ids.has(id))) continue;
      rt.logger.info({ submissionId: sub.id, batchId: b.id }, 'batch submission reconciled: its batch was created');
      adopted.add(b.id);
      resumed += await storeBatchResults(rt, sub.id, b.id, results);
      await emitBatchStep(rt, settings, 'results_stored', {
        submissionId: sub.id,
        batchId: b.id,
        customIds: sub.customIds,
      });
      found = true;
      break;
    }
    if (found || waiting) continue;
    rt.logger.info(
      { submissionId: sub.id },
      'batch submission reconciled: no batch was created, its requests go again',
    );
    await abandonSubmission(rt.pool, sub.id);
  }
  return resumed;
}

/** The API's batches created at or after `sinceMs` (newest first, paged). */
async function listBatchesSince(anthropic: Anthropic, sinceMs: number): Promise<Anthropic.Messages.MessageBatch[]> {
  const out: Anthropic.Messages.MessageBatch[] = [];
  let page = await anthropic.messages.batches.list({ limit: 100 });
  for (let pages = 1; ; pages++) {
    for (const b of page.data) {
      if (Date.parse(b.created_at) < sinceMs) return out;
      out.push(b);
    }
    if (!page.hasNextPage() || pages >= MAX_PAGES) return out;
    page = await page.getNextPage();
  }
}

function total(c: Anthropic.Messages.MessageBatchRequestCounts): number {
  return c.processing + c.succeeded + c.errored + c.canceled + c.expired;
}
