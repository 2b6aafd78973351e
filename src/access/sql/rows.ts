import type { apiKeys } from '../../db/schema/access.js';
import type { DbRow } from '../../db/rows.js';
import type { ApiKeyInfo } from '../keyInfo.js';

export const INFO_COLUMNS = 'id, name, role, tenant_ids, created_at, revoked_at, last_used_at';

/** The listed columns of a key row (never `hash`). */
export type ApiKeyInfoRow = Omit<DbRow<typeof apiKeys>, 'hash'>;

export function toInfo(r: ApiKeyInfoRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    tenantIds: r.tenant_ids,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}
