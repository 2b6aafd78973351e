import type { Queryable } from '../../db/queryable.js';

/**
 * In a finalize transaction that ends child runs, before their final UPDATE: their parents' rows
 * locked (FOR UPDATE, in id order), so this transaction takes parent before child like a cancel of
 * the parent does (it locks the parent, then cascades to the children: trigger
 * agentpg_runs_cancel_children). Taken the other way round, a child ending while its parent is
 * cancelled could deadlock: the child's delivery (trigger agentpg_runs_deliver_to_parent) makes
 * the parent's job due, and the cancel holds that job too. No statement when no run has a parent.
 */
export async function lockParentRuns(tx: Queryable, parentRunIds: string[]): Promise<void> {
  if (parentRunIds.length === 0) return;
  await tx.query(`select id from agentpg_runs where id = any($1::uuid[]) order by id for update`, [
    [...new Set(parentRunIds)],
  ]);
}
