import type { Queryable } from '../../db/queryable.js';

/**
 * A run of a dead instance handed back to the queue keeps state `running` (it resumes) but its
 * instance_id is cleared, fenced on the dead id, so a repeated cleanup pass cannot match it again
 * while a live worker is picking the job up (that worker sets its own id).
 */
export async function detachRunFromInstance(db: Queryable, runId: string, instanceId: string): Promise<void> {
  await db.query(
    `update agentpg_runs set instance_id = null where id = $1 and state = 'running' and instance_id = $2`,
    [runId, instanceId],
  );
}
