import type { Queryable } from '../../db/queryable.js';
import { AGENT_COLUMNS, type AgentRow } from './agentRow.js';

export async function getAgent(db: Queryable, id: string): Promise<AgentRow | null> {
  const { rows } = await db.query<AgentRow>(`select ${AGENT_COLUMNS} from agentpg_long_running_agents where id = $1`, [
    id,
  ]);
  return rows[0] ?? null;
}
