/**
 * The physical floor of every latency metric on this server: one durable commit. A run's step
 * is durable at its COMMIT, which waits for the WAL flush (fsync); enqueue → start, a decision →
 * the run resumed and a tool call → its child run each have one or more commits on their path, so
 * none can be faster than that many of these. Measured in the same run, on the same server: a
 * one-row INSERT in autocommit into a table of its own, one after the other.
 */
import type { BenchDatabase } from './database.js';
import { round, summarize } from './stats.js';

export interface CommitLatency {
  p50: number | null;
  p99: number | null;
  samples: number;
}

export async function measureCommitLatency(db: BenchDatabase, samples = 200): Promise<CommitLatency> {
  const c = await db.pool.connect();
  try {
    await c.query('create table bench_commit_probe (id bigint generated always as identity, at timestamptz)');
    const lat: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await c.query('insert into bench_commit_probe (at) values (now())');
      lat.push(performance.now() - t0);
    }
    await c.query('drop table bench_commit_probe');
    const s = summarize(lat);
    return { p50: round(s.p50, 2), p99: round(s.p99, 2), samples: lat.length };
  } finally {
    c.release();
  }
}

/** The floor cell of a latency row: `commits` durable commits on its path, at this run's p50. */
export function commitFloorCell(floor: CommitLatency | undefined, commits: number): string {
  if (!floor || floor.p50 === null) return '';
  const what = commits === 1 ? '1 commit' : `${commits} commits`;
  return `floor: ${what} on the path, a bare commit p50 ${(floor.p50 * commits).toFixed(2)} ms${commits > 1 ? ` (${floor.p50} each)` : ''}`;
}
