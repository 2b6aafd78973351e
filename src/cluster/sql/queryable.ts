import type pg from 'pg';

/** A pool or a checked-out client: every SQL operation here runs on either. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;
