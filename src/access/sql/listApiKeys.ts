import type { Queryable } from '../../db/queryable.js';
import { INFO_COLUMNS, toInfo, type ApiKeyInfoRow } from './rows.js';
import type { ApiKeyInfo } from '../keyInfo.js';

export async function listApiKeys(db: Queryable, options: { includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyInfoRow>(
    `select ${INFO_COLUMNS} from agentpg_api_keys where $1 or revoked_at is null order by created_at, id`,
    [options.includeRevoked ?? false],
  );
  return rows.map(toInfo);
}
