import type { Queryable } from '../../db/queryable.js';
import type { DbRow } from '../../db/rows.js';
import type { longRunningOwnershipLog } from '../../db/schema/index.js';

export interface HandOver {
  shard: number;
  epoch: number;
  instanceId: string;
  acquiredAt: Date;
  releasedAt: Date | null;
  releaseReason: string | null;
  /** The instance that held the shard before this acquisition, null for its first one. */
  previousInstanceId: string | null;
  /** Agents of the shard now (ownership is per shard: they all moved with it), at most 20. */
  agentIds: string[];
}

/**
 * The latest shard acquisitions from agentpg_long_running_ownership_log, newest first, each with
 * the owner before it: a hand-over is an acquisition whose previous owner is another instance.
 */
export async function recentHandOvers(db: Queryable, limit: number): Promise<HandOver[]> {
  const { rows } = await db.query<
    Pick<
      DbRow<typeof longRunningOwnershipLog>,
      'shard' | 'epoch' | 'instance_id' | 'acquired_at' | 'released_at' | 'release_reason'
    > & { previous_instance_id: string | null; agent_ids: string[] }
  >(
    `select l.shard, l.epoch, l.instance_id, l.acquired_at, l.released_at, l.release_reason,
            prev.instance_id as previous_instance_id,
            array(select a.id from agentpg_long_running_agents a where a.shard = l.shard order by a.id limit 20)
              as agent_ids
       from (select * from agentpg_long_running_ownership_log order by acquired_at desc, id desc limit $1) l
       left join lateral (select p.instance_id from agentpg_long_running_ownership_log p
                           where p.shard = l.shard and p.acquired_at < l.acquired_at
                           order by p.acquired_at desc limit 1) prev on true
      where exists (select 1 from agentpg_long_running_agents a where a.shard = l.shard)
      order by l.acquired_at desc, l.id desc`,
    [limit],
  );
  return rows.map((r) => ({
    shard: r.shard,
    epoch: Number(r.epoch),
    instanceId: r.instance_id,
    acquiredAt: r.acquired_at,
    releasedAt: r.released_at,
    releaseReason: r.release_reason,
    previousInstanceId: r.previous_instance_id,
    agentIds: r.agent_ids,
  }));
}
