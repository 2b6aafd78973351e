import pg from 'pg';
import {
  DISTRIBUTED_TABLES,
  FOREIGN_KEYS_DROPPED_ON_CITUS,
  NOTIFY_TRIGGERS_DROPPED_ON_CITUS,
  REKEYED_ON_CITUS,
} from './layout.js';

/** What distributeOnCitus did. */
export interface DistributeResult {
  /** False when the tables were already distributed (the step is idempotent). */
  distributed: boolean;
  /** The workers the shards went to. */
  workers: number;
  /** Views dropped and created again around the change (they depend on the re-keyed indexes). */
  views: number;
}

const ident = (name: string) => pg.escapeIdentifier(name);

/**
 * The opt-in Citus step (docs/scaling.md), run on the coordinator after `migrate()`: applies the
 * layout of layout.ts. On one dedicated session, in one transaction (all or nothing):
 * 1. the agentpg views are saved and dropped (some depend on the indexes re-keyed below);
 * 2. the NOTIFY row triggers of distributed tables are dropped (NOTIFY_TRIGGERS_DROPPED_ON_CITUS);
 * 3. the unique indexes without the distribution key are re-keyed (REKEYED_ON_CITUS);
 * 4. create_distributed_table for each hot table, co-located with agentpg_sessions;
 * 5. the views are created again (Citus plans them over the distributed tables).
 * Every other table, and pg-boss's schema, stays a plain table on the coordinator. Existing rows
 * are moved to the workers by create_distributed_table. Idempotent: does nothing once
 * agentpg_sessions is distributed.
 */
export async function distributeOnCitus(connectionString: string): Promise<DistributeResult> {
  const client = new pg.Client({ connectionString, application_name: 'agentpg-citus-distribute' });
  client.on('error', () => {});
  await client.connect();
  try {
    const ext = await client.query(`select 1 from pg_extension where extname = 'citus'`);
    if (ext.rowCount === 0) throw new Error('the citus extension is not installed in this database');
    const { rows: nodes } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_dist_node where noderole = 'primary' and shouldhaveshards`,
    );
    const done = await client.query(
      `select 1 from pg_dist_partition where logicalrelid = 'agentpg_sessions'::regclass`,
    );
    if (done.rowCount !== 0) return { distributed: false, workers: nodes[0].n, views: 0 };

    await client.query('begin');
    try {
      // Triggers that stay (the transition guard, the delete cascades, ...) run on the shards.
      await client.query('set local citus.enable_unsafe_triggers = on');
      // DDL over the new shards on one connection per worker: create_distributed_table in a
      // transaction that already changed the tables needs it.
      await client.query(`set local citus.multi_shard_modify_mode = 'sequential'`);
      const { rows: views } = await client.query<{ name: string; def: string }>(
        `select c.relname as name, pg_get_viewdef(c.oid) as def
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'v' and n.nspname = 'public' and c.relname like 'agentpg\\_%'
          order by c.oid`,
      );
      for (const v of views) await client.query(`drop view if exists ${ident(v.name)} cascade`);
      for (const t of NOTIFY_TRIGGERS_DROPPED_ON_CITUS)
        await client.query(`drop trigger if exists ${ident(t.trigger)} on ${ident(t.table)}`);
      for (const f of FOREIGN_KEYS_DROPPED_ON_CITUS)
        await client.query(`alter table ${ident(f.table)} drop constraint if exists ${ident(f.constraint)}`);
      for (const [name, { table, definition }] of Object.entries(REKEYED_ON_CITUS)) {
        if (definition.startsWith('primary key'))
          await client.query(
            `alter table ${ident(table)} drop constraint ${ident(name)}, add constraint ${ident(name)} ${definition}`,
          );
        else {
          await client.query(`drop index ${ident(name)}`);
          await client.query(`create ${definition}`);
        }
      }
      const anchor = DISTRIBUTED_TABLES[0].table;
      for (const t of DISTRIBUTED_TABLES)
        await client.query(`select create_distributed_table($1, $2, colocate_with => $3)`, [
          t.table,
          t.key,
          t.table === anchor ? 'default' : anchor,
        ]);
      for (const v of views) await client.query(`create view ${ident(v.name)} as ${v.def}`);
      await client.query('commit');
      return { distributed: true, workers: nodes[0].n, views: views.length };
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  } finally {
    await client.end();
  }
}
