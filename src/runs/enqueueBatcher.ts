import { randomUUID } from 'node:crypto';
import type { JobInsert } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import { preparedStatements } from '../db/preparedStatements.js';
import type { Runtime } from '../runtime.js';
import type { RunJobData } from './queue.js';
import { insertRunJobs, runJobInsert } from './runJob.js';
import { RUNS_QUEUE } from './queueName.js';
import { applyMultitaskStrategies, type MultitaskStrategy } from './multitask.js';
import {
  findRunsByIdempotencyKey,
  idempotencyLookupKey,
  insertRuns,
  lockSessionsForEnqueue,
  MAX_PROMPT_BYTES,
  sessionsStartedTooEarly,
  type NewRun,
} from './sql/insertRuns.js';
import { enqueueLoneRun } from './sql/enqueueLoneRun.js';

/** One validated enqueue call, as it waits for a batch. */
export interface EnqueueRequest extends NewRun {
  /** Byte length of the prompt (already measured by validation), for the batch size cap. */
  promptBytes: number;
  /**
   * Called inside the batch transaction, before COMMIT, with the id of a NEW run (not on an
   * idempotent hit). Called again with another id if that transaction did not commit and the
   * call was retried in a transaction of its own.
   */
  onNewRun?: (runId: string) => void;
  /** What to do when the session has a run in flight (multitask.ts); undefined: `enqueue`. */
  multitaskStrategy?: MultitaskStrategy;
}

export type EnqueueOutcome =
  | { kind: 'created'; runId: string }
  | { kind: 'existing'; runId: string }
  | { kind: 'sessionNotFound' }
  /** multitask `reject`: the session has this run in flight; nothing was written. */
  | { kind: 'busy'; runId: string }
  /** multitask `merge`: the prompt was folded into this queued run. */
  | { kind: 'merged'; runId: string };

/** Most calls one batch transaction carries. */
export const MAX_BATCH_RUNS = 100;
/** Prompt bytes above which a batch takes no further call (a single larger call still goes alone). */
const MAX_BATCH_PROMPT_BYTES = 8_000_000;
/** How far into the waiting calls a batch looks for calls of sessions it does not carry yet. */
const MAX_BATCH_SCAN = 1_000;
/** A call that started too early this often (see sessionsStartedTooEarly) is enqueued anyway. */
const MAX_ORDER_RETRIES = 20;

interface Waiting {
  request: EnqueueRequest;
  orderRetries: number;
  resolve(outcome: EnqueueOutcome): void;
  reject(err: unknown): void;
}

/** A batch leaves this call for the next batch: its transaction started too early for its session. */
const DEFER = Symbol('defer');
type ItemResult = EnqueueOutcome | typeof DEFER;

/** The runtime's batcher (rt.runs.enqueueBatcher): every enqueue of one client shares it. */
export function enqueueBatcherOf(rt: Runtime): EnqueueBatcher {
  return (rt.runs.enqueueBatcher ??= new EnqueueBatcher(rt));
}

/**
 * Group commit for enqueues: concurrent enqueue calls of one client share one transaction (run
 * rows, pg-boss jobs, one COMMIT, one NOTIFY-ing commit for every listener to read) instead of one
 * each. Leader/follower: when no batch transaction is in flight, one starts at once (in a
 * microtask, so calls made in the same tick join it) and an idle client adds no latency; while one
 * is in flight, new calls wait and go into the next batch together.
 *
 * Each run is durable at the COMMIT of the batch transaction that inserted it (runBatch), and a
 * call's promise settles only after that COMMIT. A batch carries at most ONE call per session:
 * runs of one session in one transaction would share created_at and pg-boss's created_on (both
 * the transaction's start time), so their execution order would be undefined. A session's later
 * calls wait for the next batch, which starts after this one committed: a later start time, so
 * enqueue order = created_at order = execution order.
 *
 * A batch of one call with nothing beyond the plain path (no multitask strategy but `enqueue`)
 * skips the transaction: one autocommit statement does the same (runAlone), durable at its own
 * COMMIT.
 */
export class EnqueueBatcher {
  private waiting: Waiting[] = [];
  private flushing = false;

  constructor(private readonly rt: Pick<Runtime, 'pool' | 'boss'>) {}

  /** Resolves once the call's run is committed (or found by its idempotency key, or its session is missing). */
  submit(request: EnqueueRequest): Promise<EnqueueOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, orderRetries: 0, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  /**
   * The leader loop: one batch at a time until no call waits. A batch of ONE call (the batcher was
   * idle: the common case on a quiet service) that needs only the plain path goes alone, in one
   * statement (runAlone) instead of a transaction of 6 or 7 (BEGIN, lock, check, runs, jobs, COMMIT).
   */
  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.takeBatch();
        if (batch.length === 1 && goesAlone(batch[0])) await this.runAlone(batch[0]);
        else await this.runIsolated(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * One call in ONE autocommit statement (enqueueLoneRun): the same session lock, the same
   * too-early check (then DEFER, as in runBatch) and the same run and job rows as runBatch, one
   * round trip. Durable at that statement's COMMIT, run and job together. The run id is made here
   * so that onNewRun is called before the statement (before its COMMIT, as runBatch calls it); a
   * deferred call gets a new id on its next try, as runBatch's retries do.
   */
  private async runAlone(w: Waiting): Promise<void> {
    const r = w.request;
    try {
      const runId = randomUUID();
      r.onNewRun?.(runId);
      const result = await enqueueLoneRun(preparedStatements(this.rt.pool), { ...r, runId });
      this.settle([w], [result.kind === 'tooEarly' ? DEFER : result]);
    } catch (err) {
      w.reject(err);
    }
  }

  /** The oldest waiting calls, at most one per session, up to the caps; the others keep their order. */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const sessions = new Set<string>();
    let bytes = 0;
    const scanned = Math.min(this.waiting.length, MAX_BATCH_SCAN);
    for (let i = 0; i < scanned; i++) {
      const w = this.waiting[i];
      const fits =
        batch.length === 0 ||
        (batch.length < MAX_BATCH_RUNS && bytes + w.request.promptBytes <= MAX_BATCH_PROMPT_BYTES);
      if (fits && !sessions.has(w.request.sessionId)) {
        batch.push(w);
        sessions.add(w.request.sessionId);
        bytes += w.request.promptBytes;
      } else {
        rest.push(w);
      }
    }
    this.waiting = scanned === this.waiting.length ? rest : rest.concat(this.waiting.slice(scanned));
    return batch;
  }

  /**
   * Runs a batch; when a batch of several calls fails before its COMMIT (one call's prompt the
   * database rejects, a throwing onNewRun), its calls run again one per transaction, so only the
   * bad call fails. A failed COMMIT is not retried: its outcome may be unknown (connection lost
   * while committing), and a retry could enqueue a run twice.
   */
  private async runIsolated(batch: Waiting[]): Promise<void> {
    try {
      this.settle(batch, await this.runBatch(batch));
    } catch (err) {
      if (batch.length === 1 || err instanceof BatchCommitError) {
        for (const w of batch) w.reject(unwrap(err));
        return;
      }
      for (const w of batch) {
        try {
          this.settle([w], await this.runBatch([w]));
        } catch (single) {
          w.reject(unwrap(single));
        }
      }
    }
  }

  private settle(batch: Waiting[], results: ItemResult[]): void {
    const deferred: Waiting[] = [];
    batch.forEach((w, i) => {
      const result = results[i];
      if (result === DEFER) {
        w.orderRetries++;
        deferred.push(w);
      } else {
        w.resolve(result);
      }
    });
    // Back to the front, in their order: they are older than every call still waiting.
    this.waiting.unshift(...deferred);
  }

  /**
   * ONE transaction for the batch: lock its sessions (sorted, one statement), drop the calls whose
   * session saw a later enqueue commit meanwhile (DEFER), insert the runs (one statement), look up
   * the idempotency keys that were taken, insert the pg-boss jobs of the new runs (one statement),
   * call onNewRun, COMMIT. That COMMIT makes every new run of the batch durable together with its
   * job; a crash before it leaves nothing of the batch. Results are aligned with `batch`.
   */
  private async runBatch(batch: Waiting[]): Promise<ItemResult[]> {
    const results: ItemResult[] = new Array(batch.length);
    let committing = false;
    let cancelledJobs: string[] = [];
    try {
      await withTransaction(this.rt.pool, async (client) => {
        // The same statements on every enqueue: prepared once per connection.
        const tx = preparedStatements(client);
        const sessionIds = batch.map((w) => w.request.sessionId);
        await lockSessionsForEnqueue(tx, sessionIds);
        const tooEarly = await sessionsStartedTooEarly(tx, sessionIds);
        let toInsert: number[] = [];
        batch.forEach((w, i) => {
          if (tooEarly.has(w.request.sessionId) && w.orderRetries < MAX_ORDER_RETRIES) results[i] = DEFER;
          else toInsert.push(i);
        });
        // Double texting (multitask.ts): a request rejected or merged inserts no run.
        const { outcomes: strategies, cancelledJobs: cancelled } = await applyMultitaskStrategies(
          tx,
          toInsert.map((i) => batch[i].request),
          MAX_PROMPT_BYTES,
        );
        cancelledJobs = cancelled;
        toInsert = toInsert.filter((i, k) => {
          const s = strategies[k];
          if (s.kind !== 'insert') results[i] = s;
          return s.kind === 'insert';
        });
        if (toInsert.length > 0) {
          const inserted = await insertRuns(
            tx,
            toInsert.map((i) => batch[i].request),
          );
          const taken = toInsert
            .map((i) => batch[i].request)
            .filter((r) => !inserted.has(r.jobId) && r.idempotencyKey !== null)
            .map((r) => ({ sessionId: r.sessionId, key: r.idempotencyKey! }));
          const existing = taken.length > 0 ? await findRunsByIdempotencyKey(tx, taken) : new Map<string, string>();
          const jobs: JobInsert<RunJobData>[] = [];
          for (const i of toInsert) {
            const r = batch[i].request;
            const run = inserted.get(r.jobId);
            if (run) {
              results[i] = { kind: 'created', runId: run.id };
              jobs.push(
                runJobInsert({
                  jobId: r.jobId,
                  runId: run.id,
                  agentName: r.agentName,
                  sessionId: r.sessionId,
                  tenantId: run.tenantId,
                }),
              );
              continue;
            }
            const existingId =
              r.idempotencyKey !== null ? existing.get(idempotencyLookupKey(r.sessionId, r.idempotencyKey)) : undefined;
            results[i] = existingId ? { kind: 'existing', runId: existingId } : { kind: 'sessionNotFound' };
          }
          await insertRunJobs(this.rt.boss, jobs, tx);
          for (const i of toInsert) {
            const result = results[i] as EnqueueOutcome;
            if (result.kind === 'created') batch[i].request.onNewRun?.(result.runId);
          }
        }
        committing = true;
      });
    } catch (err) {
      throw committing ? new BatchCommitError(err) : err;
    }
    // Interrupted runs that were still queued: their jobs leave the sessions' FIFO now (multitask.ts).
    if (cancelledJobs.length > 0) await this.rt.boss.deleteJob(RUNS_QUEUE, cancelledJobs).catch(() => {});
    return results;
  }
}

/**
 * Whether a call can go alone (runAlone): a multitask strategy other than `enqueue` needs its
 * statements (applyMultitaskStrategies), a call past its order retries is enqueued without the
 * check (runBatch), and onNewRun with an idempotency key would have been called for an id that an
 * idempotency hit does not create. Those take the batch path, alone in their batch.
 */
function goesAlone(w: Waiting): boolean {
  const r = w.request;
  return (
    w.orderRetries < MAX_ORDER_RETRIES &&
    (r.multitaskStrategy === undefined || r.multitaskStrategy === 'enqueue') &&
    !(r.onNewRun !== undefined && r.idempotencyKey !== null)
  );
}

/** Marks an error of the batch's COMMIT (see runIsolated); callers get the error itself. */
class BatchCommitError {
  constructor(readonly error: unknown) {}
}

function unwrap(err: unknown): unknown {
  return err instanceof BatchCommitError ? err.error : err;
}
