import { getTableColumns, type Column, type Table } from 'drizzle-orm';

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

/**
 * The one mapping of such a row to the schema's camelCase object: one property per column of
 * `table` but the `omit`ted ones, named as in src/db/schema/, an int8 column of mode 'number' as a
 * number. Columns a query selects beyond the table's (`select *, x as y`) are left out.
 */
export function rowMapper<T extends Table, O extends keyof T['$inferSelect'] = never>(
  table: T,
  omit: readonly O[] = [],
): (row: DbRow<T>) => Omit<T['$inferSelect'], O> {
  const columns = Object.entries(getTableColumns(table))
    .filter(([key]) => !(omit as readonly string[]).includes(key))
    .map(([key, c]) => ({ key, name: c.name, asNumber: c.columnType === 'PgBigInt53' }));
  return (row) => {
    const values = row as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const c of columns) {
      const v = values[c.name];
      out[c.key] = c.asNumber && v != null ? Number(v) : v;
    }
    return out as Omit<T['$inferSelect'], O>;
  };
}

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/** A row keyed snake_case as its camelCase object type (`tenant_ids` → `tenantIds`). */
export type CamelRow<R> = { [K in keyof R as K extends string ? CamelCase<K> : K]: R[K] };

/**
 * A row of a query's own select list (computed columns included) as its camelCase object, every
 * column kept as pg returned it. rowMapper is the mapping for a table's whole rows.
 */
export function camelRow<R extends object>(row: R): CamelRow<R> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as CamelRow<R>;
}
