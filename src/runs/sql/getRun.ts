import type { Queryable } from '../../db/queryable.js';
import { mapRun, type RunRow } from '../rows.js';
import type { Run } from '../types.js';

export async function getRun(db: Queryable, id: string): Promise<Run | null> {
  const { rows } = await db.query<RunRow>(`select * from agentpg_runs where id = $1`, [id]);
  return rows[0] ? mapRun(rows[0]) : null;
}
