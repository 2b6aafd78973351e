import pg from 'pg';
import { HARNESS_APP } from './database.js';

/**
 * Commits and WAL of one database over a window. xact_commit is per database (pg_stat_database);
 * WAL is server-wide (pg_current_wal_lsn), so on a shared server anyone else's writes inflate it.
 *
 * Statistics are flushed by each backend when it goes idle, at most once a second, and otherwise
 * within 10 s, or at backend exit: the measured workload is stopped (its connections closed)
 * before the closing snapshot, and the snapshot is taken after `settleMs`. The harness's own
 * statements in the window are counted and subtracted.
 */
export interface CostSnapshot {
  xactCommit: number;
  walLsn: string;
}

export async function costSnapshot(serverUrl: string, dbName: string): Promise<CostSnapshot> {
  // Read from the server's maintenance database, so the read itself is not counted in dbName.
  const c = new pg.Client({ connectionString: serverUrl, application_name: HARNESS_APP });
  await c.connect();
  try {
    await c.query('select pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ xact_commit: string; lsn: string }>(
      `select (select xact_commit from pg_stat_database where datname = $1) as xact_commit, pg_current_wal_lsn()::text as lsn`,
      [dbName],
    );
    return { xactCommit: Number(rows[0].xact_commit), walLsn: rows[0].lsn };
  } finally {
    await c.end();
  }
}

/** Bytes between two LSNs like '0/16B3748' (64-bit: high/low 32-bit halves in hex). */
export function lsnDiff(from: string, to: string): number {
  const parse = (lsn: string) => {
    const [hi, lo] = lsn.split('/');
    if (hi === undefined || lo === undefined) throw new Error(`not an LSN: ${lsn}`);
    return BigInt(`0x${hi}`) * 0x1_0000_0000n + BigInt(`0x${lo}`);
  };
  return Number(parse(to) - parse(from));
}

export function costDelta(before: CostSnapshot, after: CostSnapshot, units: number, harnessCommits = 0) {
  const commits = after.xactCommit - before.xactCommit - harnessCommits;
  const wal = lsnDiff(before.walLsn, after.walLsn);
  return {
    commits_total: commits,
    wal_bytes_total: wal,
    commits: units > 0 ? commits / units : null,
    wal_bytes: units > 0 ? wal / units : null,
  };
}
