import type { JobAttempt } from 'pg-boss';
import type { Runtime } from '../runtime.js';
import type { RunChannels } from './channels.js';
import { bossDb } from './db.js';
import { RunExecution } from './executor.js';
import { RunFinalizer } from './finalizer.js';
import { HEARTBEAT_SECONDS, RUN_POLL_INTERVAL_MS, RUNS_QUEUE, type RunJobData } from './queue.js';
import { isTerminal } from './rows.js';
import { claimRuns } from './sql/claimRuns.js';
import { getRun } from './sql/getRun.js';
import { listMessagesOfSessions } from './sql/sessions.js';
import { listToolCallsOfRuns } from './sql/toolCalls.js';

/**
 * The started worker of each runtime, so an enqueue committed in this process wakes it at once
 * instead of after its own NOTIFY has gone round through the server (enqueue_to_start).
 */
const localWorkers = new WeakMap<Runtime, RunWorker>();

/** After an enqueue's COMMIT: wake this process's worker now (the NOTIFY is then not needed). */
export function wakeLocalWorker(rt: Runtime, runId: string): void {
  localWorkers.get(rt)?.wakeFor(runId);
}

/** Serializes fetches across instances when a tenant limit is set (see fetchAndStart). */
const FETCH_LOCK_KEY = 0x6167_7275_6e73; // "agruns"
const MAX_BATCH = 50;

interface InFlight {
  exec: RunExecution;
  job: JobAttempt;
  done?: Promise<void>;
}

/**
 * Executes runs on this instance. A loop of its own over pg-boss `fetch` (rather than `work()`),
 * so that: one fetch takes as many jobs as there are free slots (runConcurrency), each run then
 * proceeds independently; the queued → running claim commits WITH the fetch (one commit per
 * batch); a run's job is deleted inside the run's final transaction; and one `touch` per
 * heartbeat refreshes every job in flight. Woken by the run state NOTIFY (a run queued, or a run
 * finished: the next run of that session may now start), with a slow poll as a backstop.
 */
export class RunWorker {
  private readonly inFlight = new Map<string, InFlight>();
  private stopping = false;
  private wakePending = false;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private offs: Array<() => void> = [];
  /** Ends the runs of this worker; runs that finish together share one transaction. */
  private readonly finalizer: RunFinalizer;
  /** Runs enqueued in this process whose wake came early: their `queued` NOTIFY needs no fetch. */
  private wokenLocally = new Set<string>();

  constructor(
    private readonly rt: Runtime,
    private readonly channels: RunChannels,
  ) {
    this.finalizer = new RunFinalizer(rt);
  }

  get activeRuns(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.offs.push(
      this.channels.onState('*', (c) => {
        if (c.state === 'queued' && this.wokenLocally.delete(c.run_id)) return;
        if (c.state === 'queued' || isTerminal(c.state)) this.wake();
      }),
      this.channels.onCancel(({ run_id }) => this.inFlight.get(run_id)?.exec.abort('cancel')),
      this.channels.onResync(() => {
        this.wake();
        void this.checkCancels().catch((err) => this.rt.reportError(err, 'run cancel check'));
      }),
    );
    this.heartbeat = setInterval(() => void this.touchJobs(), (HEARTBEAT_SECONDS * 1000) / 2);
    this.heartbeat.unref();
    this.loopDone = this.loop();
    localWorkers.set(this.rt, this);
  }

  /**
   * Stops fetching, lets runs in flight finish for up to `graceMs`, then aborts the rest and hands
   * their jobs back (pg-boss `fail` → retry), so another instance resumes them from their last
   * commit. Heartbeats continue until the last run is settled.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (localWorkers.get(this.rt) === this) localWorkers.delete(this.rt);
    this.wake();
    await this.loopDone;
    const pending = () => [...this.inFlight.values()].map((f) => f.done);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(pending()), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const f of this.inFlight.values()) f.exec.abort('shutdown');
      await Promise.allSettled(pending());
    }
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const off of this.offs) off();
    this.offs = [];
  }

  /**
   * wake() for a run this process just enqueued (its job is committed and fetchable). Its `queued`
   * NOTIFY, arriving a moment later, is then skipped: it would only cause a second, empty fetch.
   * Bounded: entries whose NOTIFY never comes (a LISTEN reconnect) must not pile up.
   */
  wakeFor(runId: string): void {
    if (this.stopping) return;
    if (this.wokenLocally.size >= 10_000) this.wokenLocally.clear();
    this.wokenLocally.add(runId);
    this.wake();
  }

  wake(): void {
    this.wakePending = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.wakePending = false;
      const free = this.rt.config.runConcurrency - this.inFlight.size;
      const want = Math.min(free, MAX_BATCH);
      let fetched = 0;
      if (want > 0) {
        try {
          fetched = await this.fetchAndStart(want);
        } catch (err) {
          this.rt.reportError(err, 'run fetch');
          await this.sleep(1000);
          continue;
        }
      }
      // A full batch means there is probably more: fetch again at once.
      if (want > 0 && fetched === want) continue;
      await this.sleep(RUN_POLL_INTERVAL_MS);
    }
  }

  /** Waits for a wake() (or the poll interval); returns at once if one came in meanwhile. */
  private sleep(ms: number): Promise<void> {
    if (this.wakePending || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /**
   * ONE transaction per batch: [advisory lock] + pg-boss fetch + claim (queued → running, prompt
   * stored) + the claimed runs' history read + settling jobs that must not run here. Durable at
   * COMMIT (step `claimed`, reported by each execution as it starts): the jobs are active with a
   * heartbeat, the runs are `running` on this instance with attempts + 1.
   *
   * With a tenant limit, fetches of all instances are serialized by a transaction-level advisory
   * lock: pg-boss counts a group's active jobs inside the fetch statement, and two fetches running
   * at the same moment on two instances would each see the other's claims as not yet made and
   * could together exceed the limit.
   */
  private async fetchAndStart(batchSize: number): Promise<number> {
    const { rt } = this;
    const limit = rt.config.tenantConcurrency;
    const client = await rt.pool.connect();
    const created: InFlight[] = [];
    let fetched = 0;
    try {
      await client.query('BEGIN');
      if (limit) await client.query('select pg_advisory_xact_lock($1)', [FETCH_LOCK_KEY]);
      const db = bossDb(client);
      const jobs = await rt.boss.fetch<RunJobData>(RUNS_QUEUE, { batchSize, db, ...(limit ? { groupConcurrency: limit } : {}) });
      fetched = jobs.length;
      if (jobs.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      const ref = (j: (typeof jobs)[number]): JobAttempt => ({ id: j.id, retryCount: j.retryCount });
      // A job for an agent this instance does not have goes back (retry, with backoff) for an
      // instance that has it. Instances should register the same agents; this keeps mixed
      // deployments working, slowly.
      const foreign = jobs.filter((j) => !rt.registry.agents.has(j.data.agentName));
      if (foreign.length > 0) {
        await rt.boss.fail(RUNS_QUEUE, foreign.map(ref), { reason: `agent not registered on instance ${rt.instanceId}` }, { db });
      }
      const mine = jobs.filter((j) => rt.registry.agents.has(j.data.agentName));
      const runs = await claimRuns(client, mine.map((j) => j.data.runId), rt.instanceId);
      const byRun = new Map(runs.map((r) => [r.id, r]));
      // The run is already final (cancelled while queued, failed by cleanup) or gone: the job is
      // done, not executed.
      const stale = mine.filter((j) => !byRun.has(j.data.runId));
      if (stale.length > 0) await rt.boss.deleteJob(RUNS_QUEUE, stale.map(ref), { db });
      // The conversations of the claimed runs, read in this same transaction (it sees the prompts
      // the claim just stored). Tool calls can only exist for a run picked up before.
      const messages = await listMessagesOfSessions(client, [...new Set(runs.map((r) => r.sessionId))]);
      const toolCalls = await listToolCallsOfRuns(client, runs.filter((r) => r.attempts > 1).map((r) => r.id));
      // Registered before COMMIT so a cancel NOTIFY arriving right after it finds the execution.
      for (const j of mine) {
        const run = byRun.get(j.data.runId);
        if (!run) continue;
        const job = ref(j);
        const history = { messages: messages.get(run.sessionId) ?? [], toolCalls: toolCalls.get(run.id) ?? [] };
        const entry: InFlight = { exec: new RunExecution(rt, run, history, this.finalizer, job), job };
        this.inFlight.set(run.id, entry);
        created.push(entry);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      for (const e of created) this.inFlight.delete(e.exec.run.id);
      throw err;
    } finally {
      client.release();
    }
    for (const entry of created) this.launch(entry);
    return fetched;
  }

  private launch(entry: InFlight): void {
    const { rt } = this;
    const { exec, job } = entry;
    entry.done = exec
      .execute()
      .then(async (outcome) => {
        if (outcome === 'handback') {
          // Durable on pg-boss's fail statement (fenced on this job attempt): the job goes to
          // retry; the run stays `running` and is resumed from its last commit by the next claim.
          await rt.boss.fail(RUNS_QUEUE, job, { reason: 'handed back by instance', instanceId: rt.instanceId });
        } else if (outcome === 'lost') {
          // The run was finalized by someone else (cleanup) while our job is still active: delete
          // it, or its session stays blocked. Fenced: a job re-claimed elsewhere is left alone.
          const run = await getRun(rt.pool, exec.run.id);
          if (!run || isTerminal(run.state)) await rt.boss.deleteJob(RUNS_QUEUE, job);
        }
      })
      .catch((err) => rt.reportError(err, `run ${exec.run.id} settle`))
      .finally(() => {
        this.inFlight.delete(exec.run.id);
        this.wake();
      });
  }

  /** One statement refreshes the heartbeat of every job in flight; a job not refreshed is lost. */
  private async touchJobs(): Promise<void> {
    const entries = [...this.inFlight.values()].filter((e) => e.done);
    if (entries.length === 0) return;
    try {
      const res = await this.rt.boss.touch(RUNS_QUEUE, entries.map((e) => e.job));
      const settled = (res as { settled?: string[] }).settled;
      if (!settled) return;
      const alive = new Set(settled);
      for (const e of entries) if (!alive.has(e.job.id) && this.inFlight.get(e.exec.run.id) === e) e.exec.abort('claim_lost');
    } catch (err) {
      this.rt.reportError(err, 'run job heartbeat');
    }
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
