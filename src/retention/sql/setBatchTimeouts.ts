import type { Queryable } from '../../db/queryable.js';

/**
 * Bounds what one batch transaction may wait for and run (SET LOCAL: until its COMMIT/ROLLBACK),
 * so a batch never queues behind, nor holds its row locks in front of, the runs' own statements
 * for long: a batch that hits either limit is rolled back whole and the pass reports the error.
 */
export async function setBatchTimeouts(
  db: Queryable,
  lockTimeoutMs: number,
  statementTimeoutMs: number,
): Promise<void> {
  await db.query(`select set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
    `${lockTimeoutMs}ms`,
    `${statementTimeoutMs}ms`,
  ]);
}
