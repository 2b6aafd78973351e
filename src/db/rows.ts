import type { Column, Table } from 'drizzle-orm';

/** pg returns int8 as a string (no type parser is set), whatever drizzle's `mode` says. */
type ColumnValue<C extends Column> = C['_']['columnType'] extends 'PgBigInt53' | 'PgBigInt64' ? string : C['_']['data'];
type ColumnNull<C extends Column> = C['_']['notNull'] extends true ? never : null;

/**
 * A row of a drizzle table as pg's `query<Row>` returns it for `select *` / `returning *`: keyed
 * by the database column names (snake_case), typed from the schema in src/db/schema/. The sql/
 * functions use it instead of `any` rows.
 */
export type DbRow<T extends Table> = {
  [K in keyof T['_']['columns'] as T['_']['columns'][K]['_']['name']]:
    ColumnValue<T['_']['columns'][K]> | ColumnNull<T['_']['columns'][K]>;
};
