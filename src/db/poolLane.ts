import type pg from 'pg';
import type { Queryable } from './queryable.js';

/**
 * A share of the statement pool that runs at most `slots` statements at once (a FIFO queue for the
 * rest). The periodic duties of an instance (failover every 250 ms, the ownership sweep, the
 * heartbeat, cleanup passes, pg-boss's own statements: supervise, monitor, touch) go through one
 * lane of one slot, so between them they keep ONE pool connection busy, never several: an idle
 * instance's pool stays at one or two connections instead of one per duty that happened to tick
 * at the same moment (each of which the pool then kept for its idle timeout). Runs' transactions
 * (fetch and claim, steps, finalize) take the pool directly and are not slowed by the lane.
 *
 * Statements only, never a transaction: a transaction held on a lane while one of its statements
 * waited for the same lane would wait forever.
 */
export class PoolLane implements Queryable {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly pool: Queryable,
    private readonly slots = 1,
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.busy >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await this.pool.query<R>(text, values);
    } finally {
      // The slot passes straight to the next waiter (busy unchanged), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }

  /** Statements waiting for a slot (tests, diagnostics). */
  get queued(): number {
    return this.waiting.length;
  }
}
