/**
 * The throughput baseline: bare pg-boss jobs whose handler makes the same model call through the
 * same SDK (same client options) and stores nothing. pg-boss is configured as agentpg configures
 * it (src/client.ts constructor options, src/runs/queue.ts queue options, the same schema), and
 * holds as many jobs in flight as agentpg's runConcurrency; its queue table gets the same tuning
 * as agentpg's (fillfactor, ANALYZE: tuneNewJobTable). The one deliberate difference: agentpg
 * wakes its workers with its own NOTIFY (the run state trigger) and sets the queue's pg-boss
 * `notify` off; a bare pg-boss user turns pg-boss's own `notify` on instead.
 *
 * Polling: pg-boss NOTIFYs only when a job is sent. Under key_strict_fifo the next job of a
 * session becomes fetchable when the one before it completes, and nothing wakes a worker for it;
 * with `notify` on, pg-boss then falls back to `notifyPollingIntervalSeconds`, 30 s by default
 * (a run of this benchmark once sat idle 30 s with jobs queued). A competent pg-boss user with
 * per-session FIFO polls often instead: both intervals at POLL_SECONDS.
 *
 * Env BENCH_BASELINE (JSON): { databaseUrl, modelUrl, queue, concurrency }.
 */
import Anthropic from '@anthropic-ai/sdk';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { PGBOSS_SCHEMA } from '../../src/db/migrate.js';
import { RUNS_QUEUE_OPTIONS, tuneNewJobTable } from '../../src/runs/queue.js';

const cfg = JSON.parse(process.env.BENCH_BASELINE ?? '{}') as {
  databaseUrl: string;
  modelUrl: string;
  queue: string;
  /** Jobs in flight at most (agentpg's runConcurrency). */
  concurrency: number;
};
const now = () => performance.timeOrigin + performance.now();
const send = (m: Record<string, unknown>) => {
  if (process.connected) process.send?.(m);
};

const BATCH = 50; // agentpg's run worker fetches at most 50 jobs at a time (src/runs/worker.ts)
/** The worker's poll while idle, NOTIFY or not (see the top of this file). */
const POLL_SECONDS = 0.5;

const boss = new PgBoss({
  connectionString: cfg.databaseUrl,
  schema: PGBOSS_SCHEMA,
  migrate: false,
  useListenNotify: true,
  application_name: 'agentpg-bench-baseline',
});
boss.on('error', () => {});
const anthropic = new Anthropic({ apiKey: 'bench', baseURL: cfg.modelUrl, maxRetries: 0, timeout: 600_000 });

await boss.start();
if (!(await boss.getQueue(cfg.queue))) {
  await boss.createQueue(cfg.queue, { ...RUNS_QUEUE_OPTIONS, notify: true });
  // The same table tuning agentpg gives its runs queue (fillfactor, statistics): the baseline is
  // pg-boss at its best on this queue, not a slower one.
  const table = (await boss.getQueue(cfg.queue))?.table;
  if (table) {
    const db = new pg.Client({ connectionString: cfg.databaseUrl });
    await db.connect();
    await tuneNewJobTable(db, table);
    await db.end();
  }
}

await boss.work<{ prompt: string }>(
  cfg.queue,
  {
    batchSize: Math.min(BATCH, cfg.concurrency),
    localConcurrency: Math.max(1, Math.ceil(cfg.concurrency / BATCH)),
    burstWhenBatchFull: true,
    pollingIntervalSeconds: POLL_SECONDS,
    notifyPollingIntervalSeconds: POLL_SECONDS,
  },
  async (jobs) => {
    await Promise.all(
      jobs.map((job) =>
        anthropic.messages.create({
          model: 'claude-bench',
          max_tokens: 64,
          messages: [{ role: 'user', content: job.data.prompt }],
        }),
      ),
    );
  },
);
send({ type: 'ready', pid: process.pid, t: now() });

process.on(
  'message',
  async (m: {
    type: string;
    reqId?: string;
    count?: number;
    sessions?: number;
    concurrency?: number;
    prompt?: string;
  }) => {
    const reply = (body: Record<string, unknown>) => send({ ...body, reqId: m.reqId });
    try {
      if (m.type === 'sendMany') {
        const count = m.count ?? 0;
        const t0 = now();
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(m.concurrency ?? 32, count) }, async () => {
            while (next < count) {
              const i = next++;
              // The same per-session FIFO key and tenant group agentpg's enqueue sets.
              await boss.send(
                cfg.queue,
                { prompt: m.prompt ?? 'hello' },
                { singletonKey: `s-${i % (m.sessions ?? 1)}`, group: { id: 'bench-tenant' } },
              );
            }
          }),
        );
        reply({ type: 'sent', t0, t1: now() });
      } else if (m.type === 'stop') {
        await boss.stop({ graceful: false }).catch(() => {});
        reply({ type: 'ok' });
        process.exit(0);
      } else {
        reply({ type: 'error', message: `unknown command ${m.type}` });
      }
    } catch (err) {
      reply({ type: 'error', message: (err as Error).message });
    }
  },
);
process.on('disconnect', () => process.exit(0));
