/**
 * The retention load of the soak metric: something deleting old finished runs in the background
 * while the measures run. The soak takes any `BackgroundDeleter`; until agentpg's own retention
 * duty (src/retention, built separately) is merged and wired here, `plainSqlDeleter` simulates it
 * with the statement such a duty runs: finished runs older than the cut-off, oldest first, in
 * batches of 500 (agentpg_runs_finished_idx finds them), their messages and tool calls deleted by
 * the runs' delete trigger (migration runs_delete_cascade), one batch every 2 s (up to 250 runs/s,
 * more than this machine creates: retention that keeps up), each batch its own
 * autocommit statement so no lock is held for long.
 */
import pg from 'pg';
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

export interface PlainSqlDeleterOptions {
  batchSize?: number;
  everyMs?: number;
  /** Finished longer ago than this is deleted. */
  olderThanDays?: number;
}

export function plainSqlDeleter(url: string, o: PlainSqlDeleterOptions = {}): BackgroundDeleter {
  const batchSize = o.batchSize ?? 500;
  const everyMs = o.everyMs ?? 2000;
  const days = o.olderThanDays ?? 300;
  const s: DeleterStats = {
    kind: `plain SQL simulation of retention (src/retention not wired): DELETE … WHERE id IN (SELECT … finalized_at < now() - ${days} days ORDER BY finalized_at LIMIT ${batchSize}) every ${everyMs} ms`,
    batches: 0,
    runs_deleted: 0,
    errors: 0,
    last_error: null,
    max_batch_ms: 0,
  };
  let client: pg.Client | null = null;
  let running = false;
  let loop: Promise<void> | null = null;
  return {
    async start() {
      client = new pg.Client({ connectionString: url, application_name: `${HARNESS_APP}-retention` });
      client.on('error', () => {});
      await client.connect();
      running = true;
      const c = client;
      loop = (async () => {
        while (running) {
          const t0 = Date.now();
          try {
            const r = await c.query(
              `delete from agentpg_runs where id in (
                 select id from agentpg_runs
                  where finalized_at is not null and finalized_at < now() - make_interval(days => $1)
                  order by finalized_at limit $2)`,
              [days, batchSize],
            );
            s.batches++;
            s.runs_deleted += r.rowCount ?? 0;
          } catch (err) {
            s.errors++;
            s.last_error = (err as Error).message;
          }
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
      await client?.end().catch(() => {});
      return { ...s };
    },
  };
}
