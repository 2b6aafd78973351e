import type { Queryable } from '../../db/queryable.js';

/** A position in agentpg_runs_finished_idx order: (finalized_at, id). */
export interface ScanCursor {
  /** finalized_at as PostgreSQL prints it (microseconds kept: a Date would round them off). */
  at: string;
  id: string;
}

export const SCAN_START: ScanCursor = { at: '-infinity', id: '00000000-0000-0000-0000-000000000000' };

export interface ScanWindow {
  /** The distinct sessions of the window's runs, in window order. */
  sessionIds: string[];
  /** Runs read (= limit: there may be more). */
  runs: number;
  /** Where the window ended (the cursor itself when it was empty). */
  last: ScanCursor;
}

/**
 * The next `limit` finished runs older than the age cut, after `cursor`, of one policy's tenants
 * (`tenantId`, or every tenant but `exceptTenants`). Read through agentpg_runs_finished_idx (range
 * on finalized_at, the rest filtered); ties of finalized_at (runs finalized in one shared
 * transaction) are ordered by id, so the walk never skips nor repeats a run.
 */
export async function scanFinishedRuns(
  db: Queryable,
  w: { maxAgeMs: number; tenantId: string | null; exceptTenants: string[]; cursor: ScanCursor; limit: number },
): Promise<ScanWindow> {
  const { rows } = await db.query<{ session_id: string; at: string; id: string }>(
    `select r.session_id, r.finalized_at::text as at, r.id
       from agentpg_runs r
      where r.finalized_at is not null
        and r.finalized_at < now() - make_interval(secs => $1::double precision / 1000)
        and r.finalized_at >= $2::timestamptz
        and (r.finalized_at > $2::timestamptz or r.id > $3::uuid)
        and ($4::text is null or r.tenant_id = $4::text)
        and r.tenant_id <> all($5::text[])
      order by r.finalized_at, r.id
      limit $6`,
    [w.maxAgeMs, w.cursor.at, w.cursor.id, w.tenantId, w.exceptTenants, w.limit],
  );
  const last = rows.length > 0 ? { at: rows[rows.length - 1].at, id: rows[rows.length - 1].id } : w.cursor;
  return { sessionIds: [...new Set(rows.map((r) => r.session_id))], runs: rows.length, last };
}
