import type { Queryable } from '../../db/queryable.js';
import { camelRow, type DbRow } from '../../db/rows.js';
import type { apiKeys } from '../../db/schema/access.js';
import type { Role } from '../principal.js';

export interface StoredApiKey {
  id: string;
  hash: string;
  role: Role;
  tenantIds: string[];
  revoked: boolean;
  /** True when last_used_at is unset or over a minute old (so it is worth writing again). */
  lastUsedStale: boolean;
}

/** The key checked on every request: one primary-key lookup, no cache (a revocation applies at once). */
export async function findApiKey(db: Queryable, id: string): Promise<StoredApiKey | null> {
  const { rows } = await db.query<
    Pick<DbRow<typeof apiKeys>, 'id' | 'hash' | 'role' | 'tenant_ids'> & { revoked: boolean; last_used_stale: boolean }
  >(
    `select id, hash, role, tenant_ids, revoked_at is not null as revoked,
            coalesce(last_used_at < now() - interval '1 minute', true) as last_used_stale
       from agentpg_api_keys where id = $1`,
    [id],
  );
  return rows[0] ? camelRow(rows[0]) : null;
}
