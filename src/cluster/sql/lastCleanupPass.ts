import type { Queryable } from '../../db/queryable.js';
import { camelRow } from '../../db/rows.js';

export interface LastCleanupPass {
  instanceId: string;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  /** The pg-boss time slot the pass ran for (null for a pass run by hand). */
  slot: Date | null;
}

/** The newest cleanup pass of the cluster, or null (read through agentpg_cleanup_passes_started_idx). */
export async function lastCleanupPass(db: Queryable): Promise<LastCleanupPass | null> {
  const { rows } = await db.query<{
    instance_id: string;
    started_at: Date;
    finished_at: Date | null;
    error: string | null;
    slot: Date | null;
  }>(
    `select instance_id, started_at, finished_at, error, slot from agentpg_cleanup_passes
      order by started_at desc limit 1`,
  );
  return rows[0] ? camelRow(rows[0]) : null;
}
