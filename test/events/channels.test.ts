import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIGGER_CHANNELS } from '../../src/events/channels.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('NOTIFY channel names', () => {
  it('src/events/channels.ts names exactly the channels the triggers of the migrated database send on', async () => {
    // The trigger functions' source, as Postgres stores it after the migrations (drizzle/*.sql).
    const rows = await db.query<{ src: string }>(
      `select distinct p.prosrc as src
         from pg_trigger t join pg_proc p on p.oid = t.tgfoid
        where not t.tgisinternal and t.tgrelid::regclass::text like 'agentpg_%'`,
    );
    const sent = new Set<string>();
    for (const { src } of rows) {
      for (const m of src.matchAll(/pg_notify\(\s*'([^']+)'/g)) sent.add(m[1]);
    }
    expect([...sent].sort()).toEqual([...TRIGGER_CHANNELS].sort());
  });
});
