import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import { preparedStatements } from '../db/preparedStatements.js';
import type { Runtime } from '../runtime.js';
import type { Queryable } from '../db/queryable.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE } from './queueName.js';
import { finalizeRuns, type FinalRunUpdate } from './sql/finalizeRuns.js';
import { lockParentRuns } from './sql/lockParentRuns.js';
import { insertMessages, type NewMessage } from './sql/insertMessages.js';
import { closeOpenToolCalls } from './sql/toolCalls.js';
import type { Run } from './types.js';
import { errorForLog } from '../lifecycle/reportError.js';

/** Most runs one finalize transaction ends (bounds its statements' size and its lock set). */
export const MAX_FINALIZE_BATCH = 100;

/** Everything one execution's end writes: its final UPDATE, messages, tool calls to close, job. */
export interface FinalizeRequest extends FinalRunUpdate {
  sessionId: string;
  /** The pg-boss job attempt this execution fetched; deleted with the run. */
  job: JobAttempt;
  /** Stored after the final UPDATE, in this order (pending tool results, final assistant message...). */
  messages: NewMessage[];
  /** Not completed: the run's open tool calls are closed as failed with this output. */
  closeToolCallsWith: string | null;
  /** A child run's parent: its row is locked first (lockParentRuns says why). */
  parentRunId?: string | null;
}

interface Waiting {
  request: FinalizeRequest;
  resolve: (run: Run | null) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the ends of runs: one per RunWorker. Executions that finish while a finalize
 * transaction is in flight queue up and are ended together by the next one (up to
 * MAX_FINALIZE_BATCH), so N runs finishing at the same moment cost about one COMMIT (and one
 * transaction in every listening backend for the NOTIFYs it carries) instead of N. When nothing is
 * in flight a request starts its transaction at once: no added latency when idle.
 *
 * Transparent to each execution: finalize() resolves only after the COMMIT that made ITS final
 * state durable, and a run's pieces (final state, messages, closed tool calls, deleted job) are
 * in that one transaction, all or nothing.
 */
export class RunFinalizer {
  private readonly waiting: Waiting[] = [];
  private busy = false;

  constructor(private readonly rt: Runtime) {}

  /**
   * Ends the run in the next finalize transaction. Resolves after its COMMIT with the final Run
   * row, or null when the run was no longer `running` under this claim (nothing of it was written).
   * Rejects when its transaction failed (nothing of it was written either).
   */
  finalize(request: FinalizeRequest): Promise<Run | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  /** The leader loop: one batch transaction at a time, until nobody waits. Never throws. */
  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.waiting.length > 0) await this.commitBatch(this.waiting.splice(0, MAX_FINALIZE_BATCH));
    } finally {
      this.busy = false;
    }
  }

  private async commitBatch(batch: Waiting[]): Promise<void> {
    try {
      const runs = await withTransaction(this.rt.pool, (client) =>
        this.write(
          preparedStatements(client),
          batch.map((w) => w.request),
        ),
      );
      for (const w of batch) w.resolve(matched(runs, w.request));
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // Isolation: a batch fails as a whole (one run's bad row, a deadlock with a concurrent
      // claim). Each run is tried again in a transaction of its own, so only the culprit fails.
      this.rt.logger.warn(
        { err: errorForLog(err), runs: batch.length },
        'finalize batch failed; finalizing its runs one by one',
      );
    }
    for (const w of batch) {
      try {
        const runs = await withTransaction(this.rt.pool, (client) =>
          this.write(preparedStatements(client), [w.request]),
        );
        w.resolve(matched(runs, w.request));
      } catch (err) {
        w.reject(err);
      }
    }
  }

  /**
   * The statements of one finalize transaction (prepared once per connection: the same texts at
   * every run's end); durable at its COMMIT (step `finalized` of each
   * run that matched). The guarded UPDATE comes FIRST: it decides which runs are still ours, so the
   * rest is written for those only and a run whose claim is gone leaves nothing to undo in a
   * transaction the other runs still commit. (Expected to save WAL too, the messages' FK check no
   * longer locking the run row before its UPDATE; measured on PG 15 the gain is ~10 bytes a run.)
   */
  private async write(tx: Queryable, requests: FinalizeRequest[]): Promise<Map<string, Run>> {
    // 0. Child runs only: their parents' rows, locked before the children's (lockParentRuns).
    await lockParentRuns(
      tx,
      requests.flatMap((r) => (r.parentRunId ? [r.parentRunId] : [])),
    );
    // 1. running → final for the whole batch, fenced on each run's attempt; stream events with it.
    const runs = await finalizeRuns(tx, requests);
    // By run AND attempt: a stale execution's request can share a batch with the current one of the
    // same run (a worker that lost its claim and re-claimed the run); only the current one matched.
    const ours = requests.filter((r) => matched(runs, r) !== null);
    if (ours.length === 0) return runs;
    // 2. The runs' last messages, each run's in order, in one INSERT.
    await insertMessages(
      tx,
      ours.map((r) => ({ sessionId: r.sessionId, runId: r.runId, messages: r.messages })),
    );
    // 3. Tool calls that will never run (runs not completed), in one UPDATE.
    const closing = ours.filter((r) => r.closeToolCallsWith !== null);
    await closeOpenToolCalls(
      tx,
      closing.map((r) => ({ runId: r.runId, reason: r.closeToolCallsWith! })),
    );
    // 4. The runs' pg-boss jobs, DELETED in one call on this connection: a job goes with its run, or
    // neither does. Deleted rather than completed: agentpg_runs is the record of the run, and a
    // completed job would be one more non-HOT UPDATE of the job row (its indexes re-inserted, ~480
    // WAL bytes a run measured) plus pg-boss maintenance deleting it later anyway; the DELETE writes
    // ~56 bytes. key_strict_fifo releases the session's next job the same way (no job left active).
    // Fenced on the fetched attempt, so a job that pg-boss already gave up on (its
    // heartbeat lapsed: back to `retry`) is left alone and not settled. Its run is still finalized:
    // the run's `attempts` matched, so no other execution has claimed it, and the final state is
    // right. That job is fetched once more later and deleted there without running (worker.ts
    // fetchAndStart: a job whose run is already final is `stale`). Rolling the run back instead
    // would throw away a finished answer and pay for the model call again.
    const jobs = ours.map((r) => r.job);
    const res = await this.rt.boss.deleteJob(RUNS_QUEUE, jobs, { db: bossDb(tx) });
    const settled = new Set((res as { settled?: string[] }).settled ?? jobs.map((j) => j.id));
    const lapsed = jobs.filter((j) => !settled.has(j.id)).map((j) => j.id);
    if (lapsed.length > 0)
      this.rt.logger.info(
        { jobs: lapsed },
        'run finalized while its job had lapsed; the job is deleted when fetched again',
      );
    return runs;
  }
}

/** The run this request finalized: its row matched under THIS request's attempt (the fence). */
function matched(runs: Map<string, Run>, r: FinalizeRequest): Run | null {
  const run = runs.get(r.runId);
  return run && run.attempts === r.attempt ? run : null;
}
