import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedStatements } from '../../src/db/preparedStatements.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('prepared statements on a checked-out connection (the fetch transaction)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('prepares each text once per connection, binds new values each time, and keeps two texts apart', async () => {
    const client = await pool.connect();
    try {
      const tx = preparedStatements(client);
      const one = 'select $1::int + 1 as n';
      const two = 'select $1::int * 10 as n';
      expect((await tx.query(one, [1])).rows).toEqual([{ n: 2 }]);
      expect((await tx.query(one, [41])).rows).toEqual([{ n: 42 }]);
      expect((await tx.query(two, [4])).rows).toEqual([{ n: 40 }]);
      const { rows } = await client.query<{ statement: string }>(
        `select statement from pg_prepared_statements where name like 'agentpg\\_%'`,
      );
      expect(rows.map((r) => r.statement).sort()).toEqual([one, two].sort());
    } finally {
      client.release();
    }
    // The next checkout of the same connection finds the statement prepared: no second PREPARE.
    const again = await pool.connect();
    try {
      expect((await preparedStatements(again).query('select $1::int + 1 as n', [9])).rows).toEqual([{ n: 10 }]);
      const { rows } = await again.query(`select count(*)::int as c from pg_prepared_statements`);
      expect(rows[0].c).toBe(2);
    } finally {
      again.release();
    }
  });
});
