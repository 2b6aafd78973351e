import type { Queryable } from '../../db/queryable.js';

export const INSTANCE_LOST_TYPE = 'instance_lost';

/**
 * A run of a dead instance whose job has no retries left: finalized as failed (error_type
 * 'instance_lost'). Fenced on the dead instance's id and on `running`, so a run a live worker took
 * over meanwhile, or that finished, keeps its real outcome. Durable on its own autocommit.
 * The clock is read in a CTE: Citus rejects volatile functions inside an UPDATE (docs/scaling.md).
 */
export async function failRunOfLostInstance(db: Queryable, runId: string, instanceId: string): Promise<void> {
  await db.query(
    `with clock as materialized (select clock_timestamp() as t)
     update agentpg_runs
        set state = 'failed', error_type = $3, finalized_at = now(), state_changed_at = clock.t,
            error_message = 'the instance running this run died and its job has no retries left'
       from clock
      where id = $1 and state = 'running' and instance_id = $2`,
    [runId, instanceId, INSTANCE_LOST_TYPE],
  );
}
