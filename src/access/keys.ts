import type { Queryable } from '../db/queryable.js';
import { ValidationError } from '../errors.js';
import { hashSecret, newApiKey, parseApiKey, secretMatches } from './keyFormat.js';
import { ROLES, type Principal, type Role } from './principal.js';
import { findApiKey } from './sql/findApiKey.js';
import { insertApiKey } from './sql/insertApiKey.js';
import type { ApiKeyInfo } from './keyInfo.js';
import { touchApiKey } from './sql/touchApiKey.js';

export interface CreateApiKeyInput {
  role: Role;
  /** Required (one or more) for a `tenant` key; must be empty or absent for the others. */
  tenantIds?: readonly string[];
  name?: string;
}

/**
 * Creates a key and returns it in clear: the one time it is shown. Only the hash of its secret is
 * stored; losing it means creating another one.
 */
export async function createApiKey(db: Queryable, input: CreateApiKeyInput): Promise<ApiKeyInfo & { key: string }> {
  if (!ROLES.includes(input.role)) {
    throw new ValidationError(`role must be one of ${ROLES.join(', ')} (got ${String(input.role).slice(0, 50)})`);
  }
  const tenantIds = [...new Set(input.tenantIds ?? [])];
  if (input.role === 'tenant' && tenantIds.length === 0) throw new ValidationError('a tenant key needs a tenant');
  if (input.role !== 'tenant' && tenantIds.length > 0) {
    throw new ValidationError(`an ${input.role} key sees every tenant: give no tenant`);
  }
  for (const t of tenantIds) {
    if (t.length === 0 || t.length > 255) throw new ValidationError('a tenant id has 1 to 255 characters');
  }
  if (input.name !== undefined && input.name.length > 255)
    throw new ValidationError('a key name has at most 255 characters');
  const { id, secret, key } = newApiKey();
  const info = await insertApiKey(db, {
    id,
    name: input.name ?? null,
    hash: hashSecret(secret),
    role: input.role,
    tenantIds,
  });
  return { ...info, key };
}

/**
 * The principal of a presented key, or null when it is malformed, unknown, revoked or wrong.
 * Reads the key's row on every call, so a revocation applies on every instance at once.
 */
export async function verifyApiKey(db: Queryable, key: string): Promise<Principal | null> {
  const parsed = parseApiKey(key);
  if (!parsed) return null;
  const row = await findApiKey(db, parsed.id);
  if (!row || row.revoked || !secretMatches(parsed.secret, row.hash)) return null;
  // Bookkeeping only: a failed write must not fail the request.
  if (row.lastUsedStale) void touchApiKey(db, row.id).catch(() => {});
  return { role: row.role, tenantIds: row.tenantIds, keyId: row.id };
}

export { listApiKeys } from './sql/listApiKeys.js';
export { revokeApiKey } from './sql/revokeApiKey.js';
export { anyApiKey } from './sql/anyApiKey.js';
export type { ApiKeyInfo } from './keyInfo.js';
