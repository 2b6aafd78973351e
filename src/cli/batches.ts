// `agentpg batches`: batch mode as an operator sees it (src/batch): the model calls still waiting
// for a batch, by state, and the submissions (one per Message Batch) open or ended last.
import type pg from 'pg';
import { listSubmissions } from '../batch/sql/listSubmissions.js';
import { openRequestsByState } from '../batch/sql/openRequestsByState.js';
import { formatTable } from './table.js';

export const BATCHES_USAGE = `  batches [--limit N]             batch mode: open requests by state, open submissions and the N ended last`;

export interface BatchesArgs {
  positionals: string[];
  values: { limit?: string };
  print(data: unknown, human: () => string): void;
  usageError(message: string): number;
}

/** Runs `batches`; null when the command is another one. */
export async function runBatchesCommand(db: pg.Pool, a: BatchesArgs): Promise<number | null> {
  const [command, sub] = a.positionals;
  if (command !== 'batches') return null;
  if (sub) return a.usageError(`unknown batches command: ${sub}`);
  const limit = Number(a.values.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 0) return a.usageError('--limit must be a whole number');
  const data = { openRequests: await openRequestsByState(db), submissions: await listSubmissions(db, limit) };
  const ageS = (d: Date | null) => (d ? Math.round((Date.now() - d.getTime()) / 1000) : null);
  a.print(data, () =>
    [
      'Requests waiting for a batch result',
      formatTable(data.openRequests.map((r) => ({ ...r, oldest_age_s: ageS(r.oldest) }))),
      '',
      'Submissions (open, then the last ended)',
      formatTable(
        data.submissions.map((s) => ({ ...s, last_polled_age_s: ageS(s.last_polled_at) })),
        ['id', 'batch_id', 'state', 'requests', 'created_at', 'last_polled_age_s', 'ended_at'],
      ),
    ].join('\n'),
  );
  return 0;
}
