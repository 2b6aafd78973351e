import { NotFoundError, RunCancelledError, RunFailedError, ValidationError, WaitTimeoutError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { RunChannels, StreamEnvelope } from './channels.js';
import { callerQueryable } from '../db/callerTransaction.js';
import { enqueueRun } from './enqueue.js';
import { RUNS_QUEUE } from './queueName.js';
import { isTerminal, isUuid } from './rows.js';
import { getRun } from './sql/getRun.js';
import { listChildRuns } from './sql/listChildRuns.js';
import { requestCancel } from './sql/requestCancel.js';
import { runTotals } from './sql/runTotals.js';
import { readReplay, withoutReplayed } from './streamReplay.js';
import type { Compaction } from './compactionTypes.js';
import { listCompactions } from './sql/listCompactions.js';
import { pageSessionMessages } from './sql/pageSessionMessages.js';
import { getSession, insertSession, listSessionMessages } from './sql/sessions.js';
import type {
  EnqueueOptions,
  NewSessionOptions,
  Run,
  RunEvent,
  RunResult,
  RunTotals,
  Session,
  StoredMessage,
  WaitOptions,
} from './types.js';

/** Re-reads a waited run this often in case every NOTIFY about it was lost (never the primary path). */
const SAFETY_REREAD_MS = 15_000;

/** `client.runs`: runs by id, from any instance. */
export class RunsApi {
  /** @internal */
  constructor(
    private readonly rt: () => Runtime,
    private readonly channels: () => RunChannels,
  ) {}

  /** The run, or null when no run has this id. */
  async get(runId: string): Promise<Run | null> {
    if (!isUuid(runId)) return null;
    return await getRun(this.rt().pool, runId);
  }

  /**
   * Resolves with the run once it is completed, failed or cancelled (whatever the outcome: use
   * `result()` to throw on failure). Woken by the run state NOTIFY; re-reads the row after a LISTEN
   * reconnect, and every 15 s as a safety net.
   */
  async wait(runId: string, options: WaitOptions = {}): Promise<Run> {
    if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
    return await this.watch(runId, options, true).promise;
  }

  /**
   * The waiting behind wait(). With `initialRead` false the caller guarantees no state change can
   * have been missed (agent.run() registers the watch inside the enqueue transaction, before its
   * COMMIT sends any notification), which saves a read per run.
   * @internal
   */
  watch(runId: string, options: WaitOptions, initialRead: boolean): { promise: Promise<Run>; dispose(): void } {
    const rt = this.rt();
    const channels = this.channels();
    let dispose = () => {};
    const promise = new Promise<Run>((resolve, reject) => {
      let settled = false;
      let reading = false;
      let again = false;
      const offs: Array<() => void> = [];
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        for (const off of offs) off();
        fn();
      };
      dispose = () => finish(() => reject(new Error('wait disposed')));
      const check = async () => {
        if (settled) return;
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const run = await getRun(rt.pool, runId);
            if (!run) return finish(() => reject(new NotFoundError('run', runId)));
            if (isTerminal(run.state)) return finish(() => resolve(run));
          } while (again && !settled);
        } catch (err) {
          finish(() => reject(err));
        } finally {
          reading = false;
        }
      };
      // Subscribed before the first read, so a change between the read and the subscription
      // cannot be missed.
      offs.push(channels.onState(runId, (c) => isTerminal(c.state) && void check()));
      offs.push(channels.onResync(() => void check()));
      const safety = setInterval(() => void check(), SAFETY_REREAD_MS);
      safety.unref();
      offs.push(() => clearInterval(safety));
      if (options.timeoutMs !== undefined) {
        const t = setTimeout(
          () => finish(() => reject(new WaitTimeoutError(runId, options.timeoutMs!))),
          options.timeoutMs,
        );
        offs.push(() => clearTimeout(t));
      }
      if (options.signal) {
        const onAbort = () => finish(() => reject(options.signal!.reason ?? new Error('aborted')));
        if (options.signal.aborted) return onAbort();
        options.signal.addEventListener('abort', onAbort, { once: true });
        offs.push(() => options.signal!.removeEventListener('abort', onAbort));
      }
      if (initialRead) void check();
    });
    // A disposed watch's rejection is nobody's business.
    promise.catch(() => {});
    return { promise, dispose: () => dispose() };
  }

  /** wait(), then `{ text, run }` for a completed run; RunFailedError / RunCancelledError otherwise. */
  async result(runId: string, options: WaitOptions = {}): Promise<RunResult> {
    return resultOf(await this.wait(runId, options));
  }

  /** Agents as tools: the child runs this run's tool calls started, oldest first. */
  async children(runId: string): Promise<Run[]> {
    if (!isUuid(runId)) return [];
    return await listChildRuns(this.rt().pool, runId);
  }

  /**
   * Agents as tools: the run's tokens rolled up with those of every run below it (children,
   * grandchildren, ...). Null when no run has this id.
   */
  async totals(runId: string): Promise<RunTotals | null> {
    if (!isUuid(runId)) return null;
    return await runTotals(this.rt().pool, runId);
  }

  /**
   * Cancels a run from any instance. A queued run becomes `cancelled` at once (its job is
   * completed); a running one gets cancel_requested_at, and the instance executing it aborts its
   * model call or tools within moments and marks it `cancelled`. Returns the run as it is after
   * the request (a finished run is returned unchanged).
   */
  async cancel(runId: string): Promise<Run> {
    if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
    const rt = this.rt();
    const res = await requestCancel(rt.pool, runId);
    if (res?.state === 'cancelled' && res.jobId) {
      // Separate statement (after the cancel committed): removes the job from the session's FIFO
      // at once. If this process dies first, the worker that fetches the job deletes it instead.
      await rt.boss.deleteJob(RUNS_QUEUE, res.jobId).catch((err) => rt.reportError(err, 'cancel job'));
    }
    const run = await getRun(rt.pool, runId);
    if (!run) throw new NotFoundError('run', runId);
    return run;
  }

  /**
   * Live events of a run, from any instance: `state` first, then text deltas (buffered ~50 ms),
   * tool calls and results, state changes, and `end` with the final run. With `replay: true`, the
   * run's stored turns come right after `state` as the events they were streamed as (a subscriber
   * that reconnects mid-run sees the whole run; only the text the turn in progress streamed before
   * the subscription is missing: it is not stored until the model call returns). Without it,
   * events sent before the subscription are not shown.
   */
  stream(runId: string, options: { signal?: AbortSignal; replay?: boolean } = {}): AsyncIterable<RunEvent> {
    const self = this;
    return {
      [Symbol.asyncIterator]() {
        return self.openStream(runId, options.signal, options.replay ?? false);
      },
    };
  }

  private openStream(runId: string, signal: AbortSignal | undefined, replay: boolean): AsyncIterator<RunEvent> {
    const rt = this.rt();
    const channels = this.channels();
    const queue: RunEvent[] = [];
    let notify: (() => void) | null = null;
    let ended = false;
    let failure: unknown = null;
    const offs: Array<() => void> = [];
    // States only move forward; a notification older than the state already shown (it was in
    // flight while the row was read) is dropped.
    const RANK: Record<string, number> = { queued: 0, running: 1, completed: 2, failed: 2, cancelled: 2 };
    let shownRank = -1;
    const push = (e: RunEvent) => {
      if (ended) return;
      if (e.type === 'state') {
        if (RANK[e.state] <= shownRank) return;
        shownRank = RANK[e.state];
      }
      queue.push(e);
      notify?.();
    };
    const close = () => {
      for (const off of offs.splice(0)) off();
    };
    const finishWith = async () => {
      const run = await getRun(rt.pool, runId);
      if (run && isTerminal(run.state) && !ended) {
        push({ type: 'end', run });
        ended = true;
        close();
      }
    };
    const ready = (async () => {
      if (!isUuid(runId)) throw new NotFoundError('run', String(runId));
      offs.push(
        channels.onState(runId, (c) => {
          push({ type: 'state', state: c.state });
          if (isTerminal(c.state)) void finishWith().catch((err) => ((failure = err), notify?.()));
        }),
      );
      offs.push(await channels.onStream(runId, (env: StreamEnvelope) => push(env.e)));
      offs.push(channels.onResync(() => void finishWith().catch(() => {})));
      const run = await getRun(rt.pool, runId);
      if (!run) throw new NotFoundError('run', runId);
      const history = replay ? await readReplay(rt.pool, run) : null;
      if (isTerminal(run.state)) {
        // Already over: the row (and the stored turns) are the whole story (late notifications of
        // it are dropped).
        queue.length = 0;
        queue.push({ type: 'state', state: run.state }, ...(history?.events ?? []), { type: 'end', run });
        ended = true;
        close();
        return;
      }
      // The current state leads; notifications queued meanwhile that it supersedes are dropped.
      const current = RANK[run.state];
      const newer = queue.filter((e) => e.type !== 'state' || RANK[e.state] > current);
      const later = history ? withoutReplayed(newer, history) : newer;
      queue.length = 0;
      queue.push({ type: 'state', state: run.state }, ...(history?.events ?? []), ...later);
      shownRank = Math.max(shownRank, current);
    })().catch((err) => {
      failure = err;
      close();
    });
    if (signal) {
      const onAbort = () => {
        ended = true;
        close();
        notify?.();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return {
      async next(): Promise<IteratorResult<RunEvent>> {
        await ready;
        for (;;) {
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          if (failure) {
            const err: unknown = failure;
            failure = null;
            ended = true;
            throw err;
          }
          if (ended) return { value: undefined, done: true };
          await new Promise<void>((r) => (notify = r));
          notify = null;
        }
      },
      async return(): Promise<IteratorResult<RunEvent>> {
        ended = true;
        close();
        return { value: undefined, done: true };
      },
    };
  }
}

export const DEFAULT_MESSAGE_PAGE = 100;
export const MAX_MESSAGE_PAGE = 1000;

export interface MessagePageOptions {
  /** The seq of the last message already read (the previous page's `nextAfter`); default 0. */
  after?: number;
  /** Default 100, at most 1000. */
  limit?: number;
  /**
   * Include the messages a compaction archived (README "Long sessions"). Default false: the page
   * starts after the session's latest compaction point.
   */
  archived?: boolean;
}

export interface MessagePage {
  messages: StoredMessage[];
  /** Pass as `after` for the next page; null when this page is the last. */
  nextAfter: number | null;
}

/** `client.sessions`: sessions and their stored messages. */
export class SessionsApi {
  /** @internal */
  constructor(private readonly rt: () => Runtime) {}

  async get(sessionId: string): Promise<Session | null> {
    if (!isUuid(sessionId)) return null;
    return await getSession(this.rt().pool, sessionId);
  }

  /**
   * Without options: every message of the session in order, with its content blocks (archived ones
   * included). With options: one page of them, `{ messages, nextAfter }`: messages with seq > `after`
   * (default 0: from the start; with `archived` false, the default, from the latest compaction
   * point), at most `limit` (default 100, at most 1000); `nextAfter` is the `after` of the next
   * page, null on the last one.
   */
  async messages(sessionId: string): Promise<StoredMessage[]>;
  async messages(sessionId: string, page: MessagePageOptions): Promise<MessagePage>;
  async messages(sessionId: string, page?: MessagePageOptions): Promise<StoredMessage[] | MessagePage> {
    if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
    if (page === undefined) return await listSessionMessages(this.rt().pool, sessionId);
    const after = page.after ?? 0;
    const limit = page.limit ?? DEFAULT_MESSAGE_PAGE;
    if (!Number.isSafeInteger(after) || after < 0)
      throw new ValidationError(`after must be a message seq (an integer >= 0), got ${String(after)}`);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MESSAGE_PAGE)
      throw new ValidationError(`limit must be an integer from 1 to ${MAX_MESSAGE_PAGE}, got ${String(limit)}`);
    if (page.archived !== undefined && typeof page.archived !== 'boolean')
      throw new ValidationError(`archived must be a boolean, got ${String(page.archived)}`);
    const { messages, more } = await pageSessionMessages(
      this.rt().pool,
      sessionId,
      after,
      limit,
      page.archived ?? false,
    );
    return { messages, nextAfter: more ? messages[messages.length - 1].seq : null };
  }

  /**
   * The session's compactions, oldest first: what each archived (messages with seq <= throughSeq),
   * its replacement (the summary), tokens before and after, the summarizer's model and usage.
   */
  async compactions(sessionId: string): Promise<Compaction[]> {
    if (!isUuid(sessionId)) throw new NotFoundError('session', String(sessionId));
    return await listCompactions(this.rt().pool, sessionId);
  }
}

/** `client.agent(name)`: sessions and runs of one registered agent. */
export class AgentHandle {
  /** @internal */
  constructor(
    readonly name: string,
    private readonly rt: () => Runtime,
    private readonly runs: RunsApi,
  ) {}

  async newSession(options: NewSessionOptions): Promise<string> {
    const { tenantId, identifier, metadata, parentSessionId } = options ?? ({} as NewSessionOptions);
    for (const [field, v] of [
      ['tenantId', tenantId],
      ['identifier', identifier],
    ] as const) {
      if (typeof v !== 'string' || v.length === 0 || v.length > 255)
        throw new ValidationError(`${field} must be a string of 1 to 255 characters`);
    }
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
      throw new ValidationError('metadata must be an object');
    }
    if (parentSessionId !== undefined && !isUuid(parentSessionId))
      throw new NotFoundError('session', String(parentSessionId));
    return await insertSession(options.db !== undefined ? callerQueryable(options.db) : this.rt().pool, {
      tenantId,
      identifier,
      agentName: this.name,
      parentSessionId,
      metadata,
    });
  }

  /** Enqueues a run of this agent on the session; returns its id at once. */
  async enqueue(sessionId: string, prompt: string, options: EnqueueOptions = {}): Promise<string> {
    return await enqueueRun(this.rt(), this.name, sessionId, prompt, options);
  }

  /** Enqueue + wait: `{ text, run }`; rejects with RunFailedError / RunCancelledError. */
  async run(sessionId: string, prompt: string, options: EnqueueOptions & WaitOptions = {}): Promise<RunResult> {
    // The watch is registered inside the enqueue transaction, before its COMMIT can send any
    // notification about the run, so no initial read is needed (one statement less per run).
    if (options.db !== undefined) {
      // The run cannot start before the caller's COMMIT, which cannot come while we wait here.
      throw new ValidationError('agent.run() does not take db: use agent.enqueue(..., { db }) and wait after COMMIT');
    }
    let watch: ReturnType<RunsApi['watch']> | null = null;
    let runId: string;
    try {
      runId = await enqueueRun(this.rt(), this.name, sessionId, prompt, options, (id) => {
        // Called again only when the transaction of the previous id did not commit (a retry).
        watch?.dispose();
        watch = this.runs.watch(id, options, false);
      });
    } catch (err) {
      (watch as ReturnType<RunsApi['watch']> | null)?.dispose();
      throw err;
    }
    const w = watch as ReturnType<RunsApi['watch']> | null;
    // An existing run (same idempotency key) may be finished already: a normal wait reads it.
    if (!w) return await this.runs.result(runId, options);
    return resultOf(await w.promise);
  }
}

function resultOf(run: Run): RunResult {
  if (run.state === 'failed') throw new RunFailedError(run);
  if (run.state === 'cancelled') throw new RunCancelledError(run);
  return { text: run.responseText ?? '', run };
}
