import type pg from 'pg';

/**
 * Anything that runs a statement: the pool (autocommit), a checked-out client (inside a
 * transaction) or an ownership lock session. Every SQL operation of every module takes this one
 * type; the row type comes from the operation through the `query<Row>` generic.
 */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}
