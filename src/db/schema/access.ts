import { sql } from 'drizzle-orm';
import { check, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * API keys of the HTTP service (src/access). Only the sha256 of a key's secret is stored: the
 * secret is 32 random bytes, so a fast hash cannot be brute-forced the way a password's can, and a
 * slow one (bcrypt) would only add tens of milliseconds to every request, which checks its key here.
 * Rows are never deleted, only revoked: a service that has ever had a key keeps requiring one.
 */
export const apiKeys = pgTable(
  'agentpg_api_keys',
  {
    id: varchar('id', { length: 32 }).primaryKey(),
    name: varchar('name', { length: 255 }),
    /** Hex sha256 of the secret part of `agpk_<id>_<secret>`. */
    hash: varchar('hash', { length: 64 }).notNull(),
    role: varchar('role', { length: 20 }).$type<'admin' | 'operator' | 'tenant'>().notNull(),
    /** The tenants a `tenant` key sees; empty for admin and operator keys. */
    tenantIds: text('tenant_ids')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [
    check('agentpg_api_keys_role_check', sql`${t.role} in ('admin', 'operator', 'tenant')`),
    check('agentpg_api_keys_tenants_check', sql`(${t.role} = 'tenant') = (cardinality(${t.tenantIds}) > 0)`),
  ],
);
