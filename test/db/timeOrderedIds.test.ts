import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * Sessions and runs get time-ordered ids (agentpg_uuidv7(), migration soak_wal): new rows' index
 * entries land together instead of on random leaves of indexes too big for memory, each of which
 * would be WAL-logged whole after every checkpoint (the soak benchmark measured it).
 */
describe('time-ordered session and run ids', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('are version 7 UUIDs, increasing in creation order, carrying the creation time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [s] = await db.query<{ id: string }>(
        `insert into agentpg_sessions (tenant_id, identifier) values ('t', $1) returning id`,
        [`s${i}`],
      );
      // Ids of one millisecond are in random order: the next row a millisecond later at least.
      await new Promise((resolve) => setTimeout(resolve, 2));
      const [r] = await db.query<{ id: string }>(
        `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'a', 't', 'p') returning id`,
        [s.id],
      );
      ids.push(s.id, r.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const id of ids) expect(id[14]).toBe('7');
    expect([...ids].sort()).toEqual(ids);
    const ms = parseInt(ids[0].replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
