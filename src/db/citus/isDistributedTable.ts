import type { Queryable } from '../queryable.js';

/**
 * Whether `table` is distributed by Citus in this database (docs/scaling.md): false on a plain
 * PostgreSQL, where Citus's catalog does not exist. Read once at start by the code that must plan
 * its statements differently on Citus (src/runs/sql/fetchAndClaimRuns.ts).
 */
export async function isDistributedTable(db: Queryable, table: string): Promise<boolean> {
  const { rows } = await db.query<{ citus: boolean }>(
    `select to_regclass('pg_catalog.pg_dist_partition') is not null as citus`,
  );
  if (!rows[0].citus) return false;
  const { rows: dist } = await db.query<{ distributed: boolean }>(
    `select exists (select 1 from pg_catalog.pg_dist_partition where logicalrelid = to_regclass($1)) as distributed`,
    [table],
  );
  return dist[0].distributed;
}
