/**
 * The baselines of enqueue_to_start_ms (bench/metrics/enqueueToStart.ts): a job queue's add → its
 * handler starting in another process, for graphile-worker (`addJob` → task start) and pg-boss
 * (`send` → `work` handler start). One process of this script is the worker, another the
 * enqueuer, as agentpg's side has an enqueuing instance and an executing one. Each is set up for
 * its lowest pick-up latency, one job at a time:
 * - graphile-worker: concurrency 1, its LISTEN/NOTIFY on (the default: add_job's trigger NOTIFYs
 *   `jobs:insert`, the idle worker fetches at once), the 2 s poll only as its backstop.
 * - pg-boss: `useListenNotify` on and a queue with `notify: true` (send NOTIFYs, the idle worker
 *   fetches at once), the standard policy (no per-key FIFO check in its fetch), batch of 1,
 *   local concurrency 1, both polls at pg-boss's minimum 0.5 s as the backstop. Its own schema, so
 *   nothing of agentpg's pg-boss (queues, listener) is in its way.
 * Wall clocks: performance.timeOrigin + performance.now() in both processes (one machine).
 *
 * Env BENCH_START_BASELINE (JSON): { databaseUrl, system: 'graphile' | 'pgboss', role: 'worker' | 'enqueuer' }.
 * The worker reports `start` { i, t } at handler start and `done` { i } once the job is completed
 * in the database; the enqueuer answers `enqueue` { i } with { t0 }, its stamp right before the call.
 */
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { PgBoss } from 'pg-boss';

export interface StartBaselineConfig {
  databaseUrl: string;
  system: 'graphile' | 'pgboss';
  role: 'worker' | 'enqueuer';
}

const cfg = JSON.parse(process.env.BENCH_START_BASELINE ?? '{}') as StartBaselineConfig;
const now = () => performance.timeOrigin + performance.now();
const send = (m: Record<string, unknown>) => {
  if (process.connected) process.send?.(m);
};

const TASK = 'bench_start';
const PGBOSS_QUEUE = 'bench-start';
/** Not agentpg's pg-boss schema: this pg-boss is the baseline's alone. */
const PGBOSS_BASELINE_SCHEMA = 'pgboss_start_baseline';
const silent = new Logger(() => () => {});

let stop: () => Promise<void> = async () => {};
let enqueue: (i: number) => Promise<void> = async () => {
  throw new Error('not an enqueuer');
};
/** pg-boss: resolves once the last job sent is completed (graphile-worker's worker reports `done`). */
let waitDone: () => Promise<void> = async () => {};
let lastId: string | null = null;

if (cfg.system === 'graphile' && cfg.role === 'worker') {
  const runner: Runner = await run({
    connectionString: cfg.databaseUrl,
    concurrency: 1,
    noHandleSignals: true,
    logger: silent,
    taskList: {
      [TASK]: async (payload) => {
        send({ type: 'start', i: (payload as { i: number }).i, t: now() });
      },
    },
  });
  // After complete_job: the job is gone from the database.
  runner.events.on('job:complete', ({ job }) => send({ type: 'done', i: (job.payload as { i: number }).i }));
  stop = () => runner.stop();
} else if (cfg.system === 'graphile') {
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: cfg.databaseUrl, logger: silent });
  // The pool's connection is opened outside the timed calls (as the agentpg enqueuer's is).
  await utils.migrate();
  enqueue = async (i) => {
    await utils.addJob(TASK, { i });
  };
  stop = async () => {
    await utils.release();
  };
} else {
  const boss = new PgBoss({
    connectionString: cfg.databaseUrl,
    schema: PGBOSS_BASELINE_SCHEMA,
    useListenNotify: cfg.role === 'worker',
    supervise: cfg.role === 'worker',
    schedule: false,
    application_name: `agentpg-bench-start-baseline-${cfg.role}`,
  });
  boss.on('error', () => {});
  await boss.start();
  if (cfg.role === 'worker') {
    if (!(await boss.getQueue(PGBOSS_QUEUE))) await boss.createQueue(PGBOSS_QUEUE, { notify: true });
    await boss.work<{ i: number }>(
      PGBOSS_QUEUE,
      { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
      async ([job]) => {
        // Completed after the handler returns: the enqueuer's `waitDone` reads that state.
        send({ type: 'start', i: job.data.i, t: now() });
      },
    );
  } else {
    enqueue = async (i) => {
      lastId = await boss.send(PGBOSS_QUEUE, { i });
    };
    waitDone = async () => {
      // Idle between samples: the next job is sent only once this one is completed.
      const id = lastId;
      if (!id) return;
      for (let k = 0; k < 5000; k++) {
        const job = await boss.getJobById(PGBOSS_QUEUE, id);
        if (!job || job.state === 'completed') return;
        await new Promise((r) => setTimeout(r, 2));
      }
    };
  }
  stop = () => boss.stop({ graceful: false });
}

send({ type: 'ready', pid: process.pid, t: now() });

process.on('message', async (m: { type: string; reqId?: string; i?: number }) => {
  const reply = (body: Record<string, unknown>) => send({ ...body, reqId: m.reqId });
  try {
    if (m.type === 'enqueue') {
      const t0 = now();
      await enqueue(m.i ?? 0);
      reply({ type: 'enqueued', t0, t1: now() });
    } else if (m.type === 'waitDone') {
      await waitDone();
      reply({ type: 'ok' });
    } else if (m.type === 'stop') {
      await stop().catch(() => {});
      reply({ type: 'ok' });
      process.exit(0);
    } else {
      reply({ type: 'error', message: `unknown command ${m.type}` });
    }
  } catch (err) {
    reply({ type: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
