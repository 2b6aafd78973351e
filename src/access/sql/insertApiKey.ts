import type { Queryable } from '../../db/queryable.js';
import type { Role } from '../principal.js';
import { INFO_COLUMNS, toInfo, type ApiKeyInfoRow } from './rows.js';
import type { ApiKeyInfo } from '../keyInfo.js';

export async function insertApiKey(
  db: Queryable,
  key: { id: string; name: string | null; hash: string; role: Role; tenantIds: readonly string[] },
): Promise<ApiKeyInfo> {
  const { rows } = await db.query<ApiKeyInfoRow>(
    `insert into agentpg_api_keys (id, name, hash, role, tenant_ids) values ($1, $2, $3, $4, $5)
     returning ${INFO_COLUMNS}`,
    [key.id, key.name, key.hash, key.role, key.tenantIds],
  );
  return toInfo(rows[0]);
}
