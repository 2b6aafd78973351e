/**
 * A database whose tables autovacuum never visits: the situation of a server run with autovacuum
 * off (issue 13, "Throughput depends on fresh statistics"), for one database of our own server
 * instead of the whole server. Nothing here runs ANALYZE: a table's statistics are whatever agentpg
 * itself gathered (it analyzes the runs queue's fresh job table, src/runs/queue.ts).
 */
import pg from 'pg';
import type { Queryable } from '../../src/db/queryable.js';
import { PGBOSS_SCHEMA } from '../../src/db/migrate.js';

/** Every ordinary table of the database outside the system schemas, as schema-qualified names. */
async function userTables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      order by 1, 2`,
  );
  return rows.map((r) => `${pg.escapeIdentifier(r.schema)}.${pg.escapeIdentifier(r.name)}`);
}

/**
 * `autovacuum_enabled = false` on every table that exists now (call it once agentpg's tables and
 * the runs queue's job table exist: after the first instance started). Returns how many.
 */
export async function disableAutovacuum(db: Queryable): Promise<number> {
  const tables = await userTables(db);
  for (const t of tables) await db.query(`alter table ${t} set (autovacuum_enabled = false)`);
  return tables.length;
}

export interface TableStatistics {
  table: string;
  /** The planner's row estimate (-1: never analyzed or vacuumed). */
  reltuples: number;
  relpages: number;
  live_tuples: number;
  analyze_count: number;
  autoanalyze_count: number;
  autovacuum_count: number;
}

/** What the planner knows about agentpg_runs and pg-boss's job tables, and who gathered it. */
export async function runTableStatistics(db: Queryable): Promise<TableStatistics[]> {
  const { rows } = await db.query<TableStatistics>(
    `select s.schemaname || '.' || s.relname as "table", c.reltuples::float8 as reltuples, c.relpages,
            s.n_live_tup::int as live_tuples, s.analyze_count::int as analyze_count,
            s.autoanalyze_count::int as autoanalyze_count, s.autovacuum_count::int as autovacuum_count
       from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where (s.schemaname = $1 and (s.relname = 'job' or s.relname like 'j%')) or s.relname = 'agentpg_runs'
      order by 1`,
    [PGBOSS_SCHEMA],
  );
  return rows;
}
