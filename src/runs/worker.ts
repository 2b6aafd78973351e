import type { JobAttempt } from 'pg-boss';
import { BackgroundService } from '../lifecycle/backgroundService.js';
import type { Runtime } from '../runtime.js';
import type { RunChannels } from './channels.js';
import { liveTranscriptMessages } from './compaction.js';
import { preparedStatements } from '../db/preparedStatements.js';
import { RunExecution } from './executor.js';
import { RunFinalizer } from './finalizer.js';
import { HEARTBEAT_SECONDS } from './queue.js';
import { RUNS_QUEUE } from './queueName.js';
import { isTerminal } from './rows.js';
import { LEGACY_ROUTE_KEY, routeKeyOf } from './routing.js';
import { fetchAndClaimBatch, settleUnclaimedJobs } from './fetchBatch.js';
import type { ClaimedRunJob } from './sql/fetchAndClaimRuns.js';
import { getRun } from './sql/getRun.js';
import { readPickUp, type PickUp } from './sql/readPickUp.js';

/**
 * After an enqueue's COMMIT: wake this client's started worker (rt.runs.localWorker) now, instead
 * of after its own NOTIFY has gone round through the server (enqueue_to_start).
 */
export function wakeLocalWorker(rt: Runtime, runId: string, agentName: string): void {
  rt.runs.localWorker?.wakeFor(runId, agentName);
}

const MAX_BATCH = 50;
/** One touch per half job heartbeat refreshes every job in flight (see HEARTBEAT_SECONDS). */
const JOB_TOUCH_INTERVAL_MS = (HEARTBEAT_SECONDS * 1000) / 2;
/**
 * A job this instance made due later (wakeAt) gets a timer of its own only when due within this
 * long, and only this many at once: a later one is as well served by the backstop poll.
 */
const MAX_WAKE_AHEAD_MS = 10 * 60_000;
const MAX_WAKE_TIMERS = 10_000;

interface InFlight {
  exec: RunExecution;
  job: JobAttempt;
  done?: Promise<void>;
}

/**
 * Executes runs on this instance. A loop of its own over the job fetch (rather than pg-boss's `work()`),
 * so that: one fetch takes as many jobs as there are free slots (runConcurrency), each run then
 * proceeds independently; the queued → running claim commits WITH the fetch (one commit per
 * batch); a run's job is deleted inside the run's final transaction; and one `touch` per
 * heartbeat refreshes every job in flight. Woken by the run state NOTIFY (a run queued, or a run
 * finished: the next run of that session may now start), with a slow poll as a backstop.
 *
 * The fetch loop is not a plain periodic one, but fits the shared BackgroundService: the poll is its
 * interval, a NOTIFY or a finished run is a wake(), a full batch wakes it again at once, and a
 * failed fetch is retried after the shared backoff. The job touch is a periodic service too.
 *
 * Capability routing (routing.ts): it fetches only the route keys of the agents this instance can
 * run, so it never claims a job it would have to hand back. A `queued` NOTIFY fetches that run's
 * agent's key only (and nothing on an instance not capable of it); other wakes fetch every capable
 * key; the backstop poll (a tick with no key pending) also fetches jobs written before routing
 * existed (LEGACY_ROUTE_KEY).
 */
export class RunWorker {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly fetcher: BackgroundService;
  private readonly toucher: BackgroundService;
  private offs: Array<() => void> = [];
  /** Ends the runs of this worker; runs that finish together share one transaction. */
  private readonly finalizer: RunFinalizer;
  /** Runs enqueued in this process whose wake came early: their `queued` NOTIFY needs no fetch. */
  private wokenLocally = new Set<string>();
  /** Timers of wakeAt(), cleared at stop. */
  private readonly wakeTimers = new Set<NodeJS.Timeout>();
  /** The route keys the next fetch covers; none pending = the backstop poll, which covers all. */
  private readonly pendingKeys = new Set<number>();
  /** The route keys of the agents this instance can run. */
  private readonly capableKeys: number[];
  /** The agents this instance can run: the only runs its fetch claims. */
  private readonly capableAgents: string[];
  /**
   * Cancel NOTIFYs for runs not in flight here: a run's claim commits before its execution is
   * registered, so a cancel right after it may be heard first. Checked at registration; bounded.
   */
  private readonly cancelsBeforeStart = new Set<string>();
  /** Rotates which key a fetch takes first, so one busy agent does not starve the others. */
  private keyOffset = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly channels: RunChannels,
    /** The runs queue's job table (ensureRunsQueue), which the fetch reads. */
    private readonly jobTable: string,
    /** agentpg_runs is distributed by Citus (fetchAndClaimRuns.ts says what changes). */
    private readonly distributed = false,
  ) {
    this.finalizer = new RunFinalizer(rt);
    this.capableAgents = rt.registry.capableAgents();
    this.capableKeys = [...new Set(this.capableAgents.map(routeKeyOf))];
    const reportError = (err: unknown, context?: string) => rt.reportError(err, context);
    this.fetcher = new BackgroundService({
      name: 'run fetch',
      intervalMs: rt.config.runPollIntervalMs,
      tick: () => this.fetchTick(),
      reportError,
    });
    this.toucher = new BackgroundService({
      name: 'run job heartbeat',
      intervalMs: JOB_TOUCH_INTERVAL_MS,
      tick: () => this.touchJobs(),
      reportError,
    });
  }

  /**
   * Executions that ended because their run was taken over by a newer execution (health): a write
   * refused by the run's claim fence, a job touch refused, or this instance's liveness lost.
   */
  runsTakenOver = 0;
  /**
   * Writes of this instance's executions refused by a claim fence (health): a statement fenced on
   * the run's or the call's attempt that matched no row because a newer execution had taken over.
   */
  runWritesRefused = 0;

  /** Jobs fetched since start, and of those the foreign ones handed back (health; routing's proof). */
  runsFetched = 0;
  foreignRunsFetched = 0;

  get activeRuns(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.offs.push(
      this.channels.onState('*', (c) => {
        // Only a run's first `queued` (its insert, previous_state null) can have been woken
        // locally already. Its NOTIFY may also arrive before wakeFor() files the run: the entry
        // then lingers, and must not swallow the run's later `queued` (a decision, an answer, its
        // children done), which would leave the resume to the backstop poll.
        const early = this.wokenLocally.delete(c.run_id);
        if (c.state === 'queued') {
          if (!(early && c.previous_state === null)) this.wake(c.agent_name);
        } else if (isTerminal(c.state)) this.wake();
      }),
      this.channels.onCancel(({ run_id }) => {
        const entry = this.inFlight.get(run_id);
        if (entry) entry.exec.abort('cancel');
        else this.noteCancelBeforeStart(run_id);
      }),
      this.channels.onResync(() => {
        this.addAllKeys(true);
        this.wake();
        void this.checkCancels().catch((err) => this.rt.reportError(err, 'run cancel check'));
      }),
    );
    this.toucher.start();
    this.fetcher.start();
    // The first fetch at once, of every key: runs that waited for an instance like this one.
    this.addAllKeys(true);
    this.wake();
    this.rt.runs.localWorker = this;
  }

  /**
   * Stops fetching, lets runs in flight finish for up to `graceMs`, then aborts the rest and hands
   * their jobs back (pg-boss `fail` → retry), so another instance resumes them from their last
   * commit. Heartbeats continue until the last run is settled.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.rt.runs.localWorker === this) this.rt.runs.localWorker = null;
    await this.fetcher.stop();
    for (const t of this.wakeTimers) clearTimeout(t);
    this.wakeTimers.clear();
    // An entry is registered before launch() gives it `done`: only launched runs are waited for.
    const pending = () => [...this.inFlight.values()].flatMap((f) => (f.done ? [f.done] : []));
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(pending()), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const f of this.inFlight.values()) f.exec.abort('shutdown');
      await Promise.allSettled(pending());
    }
    await this.toucher.stop();
    for (const off of this.offs) off();
    this.offs = [];
  }

  /**
   * This instance lost its liveness session (src/cluster/liveness.ts): survivors may be handing its
   * runs back. Every execution in flight stops as one whose claim is lost: its tools see the abort
   * at once, and any write it still makes is refused by the run's claim fence anyway. Its job is
   * not handed back from here: a survivor does that (fenced on the job attempt), or, with no
   * survivor, pg-boss's job heartbeat puts it back within HEARTBEAT_SECONDS. The worker keeps
   * fetching.
   */
  giveUpAll(): void {
    for (const f of this.inFlight.values()) f.exec.abort('claim_lost');
  }

  /**
   * wake() for a run this process just enqueued (its job is committed and fetchable). Its `queued`
   * NOTIFY, arriving a moment later, is then skipped: it would only cause a second, empty fetch.
   * Bounded: entries whose NOTIFY never comes (a LISTEN reconnect) must not pile up.
   */
  wakeFor(runId: string, agentName: string): void {
    if (!this.fetcher.isRunning || !this.rt.registry.isCapable(agentName)) return;
    if (this.wokenLocally.size >= 10_000) this.wokenLocally.clear();
    this.wokenLocally.add(runId);
    this.wake(agentName);
  }

  /**
   * A fetch at `at`, for a job this instance made due then (a deadline, capacity expected): no
   * NOTIFY announces such a job, and the backstop poll (runPollIntervalMs) would find it late.
   */
  wakeAt(at: Date, agentName: string): void {
    const delay = at.getTime() - Date.now();
    if (!this.fetcher.isRunning || delay > MAX_WAKE_AHEAD_MS || this.wakeTimers.size >= MAX_WAKE_TIMERS) return;
    const timer = setTimeout(
      () => {
        this.wakeTimers.delete(timer);
        this.wake(agentName);
      },
      Math.max(0, delay) + 5, // pg-boss compares start_after with its own clock: a little after
    );
    timer.unref();
    this.wakeTimers.add(timer);
  }

  private noteCancelBeforeStart(runId: string): void {
    if (this.cancelsBeforeStart.size >= 1_000) this.cancelsBeforeStart.clear();
    this.cancelsBeforeStart.add(runId);
  }

  /** A fetch soon: of that agent's key only, or (no agent) of every key this instance can run. */
  wake(agentName?: string): void {
    if (agentName === undefined) this.addAllKeys(false);
    else if (this.rt.registry.isCapable(agentName)) this.pendingKeys.add(routeKeyOf(agentName));
    else return; // not ours: an instance that can run it fetches it
    void this.fetcher.wake();
  }

  private addAllKeys(withLegacy: boolean): void {
    for (const key of this.capableKeys) this.pendingKeys.add(key);
    if (withLegacy) this.pendingKeys.add(LEGACY_ROUTE_KEY);
  }

  /** The keys of this fetch, first key rotating. No key pending: the backstop poll, every key. */
  private takeKeys(): number[] {
    if (this.pendingKeys.size === 0) this.addAllKeys(true);
    const keys = [...this.pendingKeys];
    this.pendingKeys.clear();
    if (keys.length < 2) return keys;
    const start = this.keyOffset++ % keys.length;
    return keys.slice(start).concat(keys.slice(0, start));
  }

  /**
   * One fetch for the free slots (no free slot: the keys stay pending; the run that frees one
   * wakes a fetch). A full batch means there is probably more: fetch those keys again at once.
   */
  private async fetchTick(): Promise<void> {
    const want = Math.min(this.rt.config.runConcurrency - this.inFlight.size, MAX_BATCH);
    if (want <= 0) return;
    const keys = this.takeKeys();
    let fetched: number;
    try {
      fetched = await this.fetchAndStart(want, keys);
    } catch (err) {
      for (const key of keys) this.pendingKeys.add(key);
      throw err;
    }
    if (fetched === want) {
      for (const key of keys) this.pendingKeys.add(key);
      void this.fetcher.wake();
    }
  }

  /**
   * One fetch (fetchBatch.ts: a fetch-and-claim statement per route key, durable at its COMMIT,
   * step `claimed`, reported by each execution as it starts: the jobs active with a heartbeat, the
   * runs `running` on this instance with attempts + 1). Then, on the same connection: the claimed
   * runs' conversations (one statement, while the executions start), and the jobs that must not
   * run here settled (foreign: handed back; stale: deleted).
   */
  private async fetchAndStart(batchSize: number, keys: number[]): Promise<number> {
    const { rt } = this;
    const limit = rt.config.tenantConcurrency;
    const client = await rt.pool.connect();
    try {
      // The same statements on every fetch: prepared once per connection.
      const db = preparedStatements(client);
      const jobs = await fetchAndClaimBatch(rt, client, db, {
        table: this.jobTable,
        keys,
        batchSize,
        groupLimit: limit ?? null,
        agentNames: this.capableAgents,
        distributed: this.distributed,
      });
      if (jobs.length === 0) return 0;
      this.runsFetched += jobs.length;
      const ref = (j: ClaimedRunJob): JobAttempt => ({ id: j.id, retryCount: j.retryCount });
      const runs = jobs.flatMap((j) => (j.run ? [j.run] : []));
      // The conversations are read below; each execution waits for its own.
      let settlePickUp: (p: PickUp | Promise<PickUp>) => void = () => {};
      const pickUp = new Promise<PickUp>((resolve) => (settlePickUp = resolve));
      for (const j of jobs) {
        const run = j.run;
        if (!run) continue;
        const history = pickUp.then(({ live, toolCalls }) => ({
          messages: liveTranscriptMessages(live.get(run.sessionId)),
          toolCalls: toolCalls.get(run.id) ?? [],
        }));
        // Awaited by the execution's loop; an execution that ends before it must not leave a
        // rejection nobody handles.
        history.catch(() => {});
        const job = ref(j);
        const entry: InFlight = { exec: new RunExecution(rt, run, history, this.finalizer, job), job };
        this.inFlight.set(run.id, entry);
        this.launch(entry);
        // A cancel committed after the claim whose NOTIFY came before this registration.
        if (this.cancelsBeforeStart.delete(run.id)) entry.exec.abort('cancel');
      }
      // The conversations of the claimed runs, in one statement with the tool calls (which exist
      // only for a run picked up before). Only what the model will see: the latest compaction and
      // the messages since (bounded pick-up). After the claim's COMMIT, so a run is `running` one
      // statement sooner; it reads the same rows (the claim's prompt is committed, and nothing
      // else writes a session's messages while its run is running).
      try {
        settlePickUp(
          await readPickUp(
            db,
            [...new Set(runs.map((r) => r.sessionId))],
            runs.filter((r) => r.attempts > 1).map((r) => r.id),
          ),
        );
      } catch (err) {
        // Each execution fails on it as on any failed statement of its own (failures.ts decides).
        settlePickUp(Promise.reject(err));
      }
      this.foreignRunsFetched += await settleUnclaimedJobs(
        rt,
        db,
        jobs.filter((j) => !j.run),
      );
      return jobs.length;
    } finally {
      client.release();
    }
  }

  private launch(entry: InFlight): void {
    const { rt } = this;
    const { exec, job } = entry;
    entry.done = exec
      .execute()
      .then(async (outcome) => {
        this.runWritesRefused += exec.writesRefused;
        if (outcome === 'handback') {
          // Durable on pg-boss's fail statement (fenced on this job attempt): the job goes to
          // retry; the run stays `running` and is resumed from its last commit by the next claim.
          await rt.boss.fail(RUNS_QUEUE, job, { reason: 'handed back by instance', instanceId: rt.instanceId });
        } else if (outcome === 'lost') {
          this.runsTakenOver++;
          // The run was finalized by someone else (cleanup) while our job is still active: delete
          // it, or its session stays blocked. Fenced: a job re-claimed elsewhere is left alone.
          const run = await getRun(rt.pool, exec.run.id);
          if (!run || isTerminal(run.state)) await rt.boss.deleteJob(RUNS_QUEUE, job);
        }
      })
      .catch((err) => rt.reportError(err, `run ${exec.run.id} settle`))
      .finally(() => {
        // Only our own entry: a suspended run can be claimed again (a decision or an answer right
        // after the suspend COMMIT) and registered under the same id before this one settles.
        if (this.inFlight.get(exec.run.id) === entry) this.inFlight.delete(exec.run.id);
        // The freed slot is wanted only by keys a fetch had to leave pending (no free slot, or a
        // full batch). Anything else that became fetchable is announced: a queued run by its
        // NOTIFY, the next run of a session by this run's terminal NOTIFY (onState above), which
        // reaches this instance too. Waking here for every run end cost an empty fetch
        // transaction per run.
        if (this.pendingKeys.size > 0) void this.fetcher.wake();
      });
  }

  /** One statement refreshes the heartbeat of every job in flight; a job not refreshed is lost. */
  private async touchJobs(): Promise<void> {
    const entries = [...this.inFlight.values()].filter((e) => e.done !== undefined);
    if (entries.length === 0) return;
    const res = await this.rt.boss.touch(
      RUNS_QUEUE,
      entries.map((e) => e.job),
    );
    const settled = (res as { settled?: string[] }).settled;
    if (!settled) return;
    const alive = new Set(settled);
    for (const e of entries)
      if (!alive.has(e.job.id) && this.inFlight.get(e.exec.run.id) === e) e.exec.abort('claim_lost');
  }

  /** After a LISTEN reconnect: cancels whose NOTIFY was missed. */
  private async checkCancels(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    const { rows } = await this.rt.pool.query<{ id: string }>(
      `select id from agentpg_runs where id = any($1::uuid[]) and cancel_requested_at is not null`,
      [ids],
    );
    for (const r of rows) this.inFlight.get(r.id)?.exec.abort('cancel');
  }
}
