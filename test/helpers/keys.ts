import { createApiKey, revokeApiKey } from '../../src/access/keys.js';
import type { Queryable } from '../../src/db/queryable.js';

/** One API key of each kind the access tests call with: by role, one per tenant (A, B), and a revoked one. */
export type KeySet = Record<'admin' | 'operator' | 'tenantA' | 'tenantB' | 'revoked', string>;

/** Creates a KeySet in the database and returns the keys' secrets. */
export async function createKeySet(pool: Queryable): Promise<KeySet> {
  const admin = (await createApiKey(pool, { role: 'admin' })).key;
  const operator = (await createApiKey(pool, { role: 'operator' })).key;
  const tenantA = (await createApiKey(pool, { role: 'tenant', tenantIds: ['A'] })).key;
  const tenantB = (await createApiKey(pool, { role: 'tenant', tenantIds: ['B'] })).key;
  const revoked = await createApiKey(pool, { role: 'tenant', tenantIds: ['A'] });
  await revokeApiKey(pool, revoked.id);
  return { admin, operator, tenantA, tenantB, revoked: revoked.key };
}
