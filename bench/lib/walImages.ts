/**
 * Where the full-page images of a WAL window went, by relation and record type: the soak's
 * per-run WAL is mostly images when it is high (bench/metrics/soakPhase.ts), and which pages they
 * are says whose cost it is. Read with pg_walinspect (contrib, shipped with the embedded server;
 * superuser), which decodes the server's own WAL between two LSNs; null where the extension or the
 * window's WAL segments are no longer there.
 */
import { type BenchDatabase } from './database.js';

export interface WalImageRow {
  /** Relation name in this database; `db <oid> / <relfilenode>` for another database or a shared catalog. */
  relation: string;
  /** resource manager / record type, e.g. Heap/INSERT, XLOG/FPI_FOR_HINT. */
  record: string;
  images: number;
  image_bytes: number;
}

/** Needs a superuser once per database (before the window, so its own WAL is not counted). */
export async function enableWalInspect(db: BenchDatabase): Promise<boolean> {
  try {
    await db.query('create extension if not exists pg_walinspect');
    return true;
  } catch {
    return false;
  }
}

/** The `top` (relation, record type) pairs by images in [from, to), most first. */
export async function walImagesByRelation(
  db: BenchDatabase,
  from: string,
  to: string,
  top = 12,
): Promise<WalImageRow[] | null> {
  try {
    const rows = await db.query<{ relation: string; record: string; images: string; image_bytes: string }>(
      `with b as (
         select reltablespace, reldatabase, relfilenode, relforknumber,
                resource_manager || '/' || record_type as record, block_fpi_length
           from pg_get_wal_block_info($1::pg_lsn, $2::pg_lsn, false)
          where block_fpi_length > 0)
       select coalesce(
                case when b.reldatabase = d.oid then
                  pg_filenode_relation(case when b.reltablespace = d.dattablespace then 0 else b.reltablespace end,
                                       b.relfilenode)::text end,
                'db ' || b.reldatabase || ' / ' || b.relfilenode)
              || case b.relforknumber when 0 then '' when 1 then ' (fsm)' when 2 then ' (vm)' else ' (fork ' || b.relforknumber || ')' end
                as relation,
              b.record, count(*) as images, sum(b.block_fpi_length) as image_bytes
         from b, pg_database d
        where d.datname = current_database()
        group by 1, 2
        order by 3 desc
        limit $3`,
      [from, to, top],
    );
    return rows.map((r) => ({
      relation: r.relation,
      record: r.record,
      images: Number(r.images),
      image_bytes: Number(r.image_bytes),
    }));
  } catch {
    return null;
  }
}
