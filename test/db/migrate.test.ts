import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('migrate()', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => db?.drop());

  async function schemaFingerprint() {
    const rows = await db.query(`
      select table_schema, table_name, column_name, data_type, is_nullable, column_default
      from information_schema.columns
      where table_schema in ('public', 'agentpg_boss')
      order by 1, 2, 3`);
    const applied = await db.query(`select count(*)::int as n from public.agentpg_migrations`);
    return { columns: JSON.stringify(rows), applied: applied[0].n };
  }

  it('five concurrent migrates on an empty database all succeed', async () => {
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => migrate(db.url)));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    const tables = await db.query(
      `select table_name from information_schema.tables where table_schema = 'public' and table_name like 'agentpg_%'`,
    );
    expect(tables.length).toBeGreaterThanOrEqual(10);
  });

  it('running migrate again changes nothing', async () => {
    const before = await schemaFingerprint();
    await migrate(db.url);
    const after = await schemaFingerprint();
    expect(after).toEqual(before);
  });

  it('installs pg-boss in its own schema', async () => {
    const rows = await db.query(
      `select count(*)::int as n from information_schema.tables where table_schema = 'agentpg_boss' and table_name = 'job'`,
    );
    expect(rows[0].n).toBe(1);
  });
});
