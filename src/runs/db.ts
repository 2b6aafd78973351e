import type { Db as BossDb } from 'pg-boss';
import type { Queryable } from '../db/queryable.js';

/**
 * pg-boss's adapter interface over one of our connections, so `send`, `fetch` and `complete` run
 * inside OUR transaction (`{ db: bossDb(tx) }`) and commit or roll back with agentpg's own rows.
 */
export function bossDb(client: Queryable): BossDb {
  return { executeSql: (text, values) => client.query(text, values) };
}
