/**
 * Table and index sizes, live and dead tuples and autovacuum counts of agentpg's tables and
 * pg-boss's job tables (the soak metric reports them before and after its measures).
 * pg_stat_user_tables is fed by the backends' statistics flushes (at most once a second while
 * idle), so the caller waits a moment after the work before reading.
 */
import type { BenchDatabase } from './database.js';

export interface TableStat {
  table: string;
  table_mb: number;
  indexes_mb: number;
  live_tuples: number;
  dead_tuples: number;
  autovacuums: number;
  autoanalyzes: number;
}

export async function tableStats(db: BenchDatabase): Promise<TableStat[]> {
  await db.query('select pg_stat_clear_snapshot()');
  const rows = await db.query<{
    table: string;
    table_b: string;
    indexes_b: string;
    live: string;
    dead: string;
    av: string;
    aa: string;
  }>(
    `select s.schemaname || '.' || s.relname as table,
            pg_table_size(s.relid) as table_b, pg_indexes_size(s.relid) as indexes_b,
            s.n_live_tup as live, s.n_dead_tup as dead, s.autovacuum_count as av, s.autoanalyze_count as aa
       from pg_stat_user_tables s
      where (s.schemaname = 'public' and s.relname in
              ('agentpg_sessions', 'agentpg_runs', 'agentpg_messages', 'agentpg_tool_calls', 'agentpg_instances',
               'agentpg_cleanup_passes'))
         or (s.schemaname = 'agentpg_boss' and (s.relname = 'job' or s.relname like 'j%'))
      order by pg_total_relation_size(s.relid) desc`,
  );
  return rows.map((r) => ({
    table: r.table,
    table_mb: Math.round((Number(r.table_b) / 2 ** 20) * 10) / 10,
    indexes_mb: Math.round((Number(r.indexes_b) / 2 ** 20) * 10) / 10,
    live_tuples: Number(r.live),
    dead_tuples: Number(r.dead),
    autovacuums: Number(r.av),
    autoanalyzes: Number(r.aa),
  }));
}
