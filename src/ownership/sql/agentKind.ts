import type { Queryable } from '../../db/queryable.js';

/** The kind of an agent (null: no such agent), for the error of a start() with another kind. */
export async function agentKind(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query<{ kind: string }>(`select kind from agentpg_long_running_agents where id = $1`, [id]);
  return rows[0]?.kind ?? null;
}
