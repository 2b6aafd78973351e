/**
 * The pool's lane (src/db/poolLane.ts): the periodic duties and pg-boss's own statements go
 * through one lane of one slot, so between them they keep ONE pool connection busy. Real pool,
 * real statements: the in-flight count is taken around the pool's own query.
 */
import { expect } from 'vitest';
import { createPool } from '../../src/db/connection.js';
import { PoolLane } from '../../src/db/poolLane.js';
import type { Queryable } from '../../src/db/queryable.js';
import { test } from '../helpers/fixtures.js';

test('a lane of one slot runs one statement at a time, in order, and a failure frees its slot', async ({ db }) => {
  const pool = createPool(db.url, { max: 6, applicationName: 'lane-test' });
  try {
    let inFlight = 0;
    let most = 0;
    const counted: Queryable = {
      query: async (text, values) => {
        most = Math.max(most, ++inFlight);
        try {
          return await pool.query(text, values);
        } finally {
          inFlight--;
        }
      },
    };
    const lane = new PoolLane(counted, 1);
    const order: number[] = [];
    const statements = Array.from({ length: 8 }, (_, i) =>
      i === 3
        ? lane.query('select 1/0').catch(() => order.push(i))
        : lane.query('select pg_sleep(0.02), $1::int as i', [i]).then((r) => order.push(r.rows[0].i)),
    );
    expect(lane.queued).toBe(7);
    await Promise.all(statements);
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(lane.queued).toBe(0);
    // The pool itself was free: eight statements at once straight on it use several connections.
    most = 0;
    await Promise.all(Array.from({ length: 8 }, () => counted.query('select pg_sleep(0.02)')));
    expect(most).toBeGreaterThan(1);
  } finally {
    await pool.end();
  }
});
