import type { Queryable } from '../../db/queryable.js';
import { AGENT_COLUMNS, type AgentRow } from './agentRow.js';

export interface AgentFilter {
  kind: string | null;
  active: boolean | null;
  ownerInstanceId: string | null;
  limit: number;
}

/** Agents matching every non-null filter, oldest first. */
export async function listAgents(db: Queryable, filter: AgentFilter): Promise<AgentRow[]> {
  const { rows } = await db.query<AgentRow>(
    `select ${AGENT_COLUMNS} from agentpg_long_running_agents
     where ($1::text is null or kind = $1) and ($2::boolean is null or active = $2)
       and ($3::text is null or owner_instance_id = $3)
     order by created_at, id
     limit $4`,
    [filter.kind, filter.active, filter.ownerInstanceId, filter.limit],
  );
  return rows;
}
