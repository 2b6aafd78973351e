import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionDeleter } from '../../bench/lib/soakRetention.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { days, seedSession, seedSessions } from '../retention/seed.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('the soak background deleter (agentpg retention)', () => {
  it('retires sessions whose runs all finished over the age, in paced one-batch passes, and counts their runs', async () => {
    const old = await seedSessions(db.pool, 3, {
      tenantId: 'soak',
      runs: [
        { state: 'completed', ageMs: days(320) },
        { state: 'failed', ageMs: days(310) },
      ],
    });
    // One run inside the age keeps its whole session.
    const mixed = await seedSession(db.pool, {
      tenantId: 'soak',
      runs: [
        { state: 'completed', ageMs: days(320) },
        { state: 'completed', ageMs: days(10) },
      ],
    });
    const deleter = retentionDeleter(db.url, { batchSize: 2, everyMs: 50, olderThanDays: 300 });
    await deleter.start();
    await until(async () => deleter.stats().runs_deleted >= 6, 10_000);
    const stats = await deleter.stop();
    expect(stats.errors).toBe(0);
    expect(stats.runs_deleted).toBe(6);
    // Batches of 2 sessions, one per pass: the 3 old sessions took two passes.
    expect(stats.batches).toBe(2);
    const left = await db.query<{ id: string }>(`select id from agentpg_sessions`);
    expect(left.map((r) => r.id)).toEqual([mixed]);
    const [m] = await db.query<{ n: string }>(
      `select count(*) as n from agentpg_messages where session_id = any($1::uuid[])`,
      [old],
    );
    expect(Number(m.n)).toBe(0);
  });
});
