import type { Queryable } from '../../db/queryable.js';

/**
 * The owner mirror of agents this instance runs was cleared by someone else (cleanup found no
 * instance row for us): set it again, each row fenced by its own epoch. Batched (ids and their
 * epochs): after such a cleanup it concerns every agent here, 25,000 round trips one by one.
 */
export async function restoreOwner(
  db: Queryable,
  agents: Array<{ id: string; epoch: number }>,
  instanceId: string,
): Promise<void> {
  await db.query(
    `update agentpg_long_running_agents a
     set owner_instance_id = $3, owned_since = coalesce(a.owned_since, clock_timestamp())
     from unnest($1::text[], $2::bigint[]) as u(id, epoch)
     where a.id = u.id and a.epoch = u.epoch and a.active`,
    [agents.map((a) => a.id), agents.map((a) => a.epoch), instanceId],
  );
}
