import type { Queryable } from '../../db/queryable.js';
import { INFO_COLUMNS, toInfo, type ApiKeyInfoRow } from './rows.js';
import type { ApiKeyInfo } from '../keyInfo.js';

/** Revokes a key (again: keeps the first revocation time); null when no such key. */
export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKeyInfo | null> {
  const { rows } = await db.query<ApiKeyInfoRow>(
    `update agentpg_api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning ${INFO_COLUMNS}`,
    [id],
  );
  return rows[0] ? toInfo(rows[0]) : null;
}
