/**
 * The retention load of the soak metric: something deleting old finished runs in the background
 * while the measures run. The soak takes any `BackgroundDeleter`; `retentionDeleter`, its default,
 * is agentpg's own retention duty (src/retention), one pass of one batch of 100 sessions (500 runs
 * here) every 2 s: whole sessions whose runs all finished over 300 days ago, with their messages
 * and tool calls, as a configured `retention` deletes them (batches back to back in a real pass;
 * one every 2 s here, up to 250 runs/s, more than this machine creates: retention that keeps up,
 * at a steady rate the WAL attribution can measure).
 */
import pg from 'pg';
import { runRetentionPass } from '../../src/retention/pass.js';
import { HARNESS_APP, sleep } from './database.js';

export interface DeleterStats {
  /** What deletes: shown in the output. */
  kind: string;
  batches: number;
  runs_deleted: number;
  errors: number;
  last_error: string | null;
  /** Longest single batch (ms): the longest lock a batch held. */
  max_batch_ms: number;
}

export interface BackgroundDeleter {
  start(): Promise<void>;
  /** Runs deleted so far (read between windows, to attribute WAL). */
  stats(): DeleterStats;
  stop(): Promise<DeleterStats>;
}

export interface RetentionDeleterOptions {
  /** Sessions per batch (one batch per pass). */
  batchSize?: number;
  everyMs?: number;
  /** Sessions whose runs all finished longer ago than this are retired. */
  olderThanDays?: number;
}

export function retentionDeleter(url: string, o: RetentionDeleterOptions = {}): BackgroundDeleter {
  const batchSize = o.batchSize ?? 100;
  const everyMs = o.everyMs ?? 2000;
  const days = o.olderThanDays ?? 300;
  const s: DeleterStats = {
    kind: `agentpg retention (src/retention, mode delete): one pass of one batch of ${batchSize} sessions whose runs all finished over ${days} days ago, every ${everyMs} ms`,
    batches: 0,
    runs_deleted: 0,
    errors: 0,
    last_error: null,
    max_batch_ms: 0,
  };
  const settings = {
    mode: 'delete' as const,
    batchSize,
    intervalMs: everyMs,
    policies: [{ tenantId: null, exceptTenants: [], maxAgeMs: days * 24 * 3600_000 }],
  };
  let pool: pg.Pool | null = null;
  let running = false;
  let loop: Promise<void> | null = null;
  return {
    async start() {
      pool = new pg.Pool({ connectionString: url, max: 1, application_name: `${HARNESS_APP}-retention` });
      pool.on('error', () => {});
      running = true;
      const p = pool;
      loop = (async () => {
        while (running) {
          const t0 = Date.now();
          let batches = 0;
          const r = await runRetentionPass({
            pool: p,
            instanceId: 'bench-soak-retention',
            jobId: null,
            settings,
            // One batch per pass: the next pass starts from the oldest run left.
            shouldStop: () => batches++ >= 1,
          }).catch((err: unknown) => ({ error: (err as Error).message, runs: 0, batchSizes: [] as number[] }));
          if (r.error) {
            s.errors++;
            s.last_error = r.error;
          }
          s.batches += r.batchSizes.length;
          s.runs_deleted += r.runs;
          const took = Date.now() - t0;
          s.max_batch_ms = Math.max(s.max_batch_ms, took);
          if (running) await sleep(Math.max(0, everyMs - took));
        }
      })();
    },
    stats: () => ({ ...s }),
    async stop() {
      running = false;
      await loop;
      await pool?.end().catch(() => {});
      return { ...s };
    },
  };
}
