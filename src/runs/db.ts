import type pg from 'pg';
import type { Db as BossDb } from 'pg-boss';

/** Anything that runs a statement: the pool (autocommit) or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * pg-boss's adapter interface over one of our connections, so `send`, `fetch` and `complete` run
 * inside OUR transaction (`{ db: bossDb(tx) }`) and commit or roll back with agentpg's own rows.
 */
export function bossDb(client: Queryable): BossDb {
  return { executeSql: (text, values) => client.query(text, values as unknown[]) };
}
