import type { Queryable } from '../../db/queryable.js';

/** Whether any key was ever created (revoked ones count: revoking the last key must not open the service). */
export async function anyApiKey(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>('select exists (select 1 from agentpg_api_keys) as any');
  return rows[0].any;
}
