import { sql } from 'drizzle-orm';
import { check, doublePrecision, integer, pgTable, primaryKey, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * [ratelimit] One token bucket per (model, API key) shared by every instance (src/ratelimit/):
 * requests, input tokens and output tokens per window, each a limit, a level (what may be spent
 * now) and a refill rate, plus a cluster-wide `blocked_until` set by a 429. Limits and rates are
 * learned from the API's rate-limit headers; configured limits (rateLimits.models) are passed to
 * the acquire and win. `key_hash` is a sha256 prefix of the API key: the key is never stored.
 * Written only by the SQL functions agentpg_rate_limit_acquire / agentpg_rate_limit_observe
 * (migration rate_limits), each a single statement that locks the row.
 */
export const rateLimits = pgTable(
  'agentpg_rate_limits',
  {
    model: varchar('model', { length: 255 }).notNull(),
    keyHash: varchar('key_hash', { length: 64 }).notNull(),
    requestsLimit: integer('requests_limit'),
    requestsLevel: doublePrecision('requests_level'),
    // Per millisecond: limit / window. Learned as (limit - remaining) / (reset - now).
    requestsPerMs: doublePrecision('requests_per_ms'),
    inputTokensLimit: integer('input_tokens_limit'),
    inputTokensLevel: doublePrecision('input_tokens_level'),
    inputTokensPerMs: doublePrecision('input_tokens_per_ms'),
    outputTokensLimit: integer('output_tokens_limit'),
    outputTokensLevel: doublePrecision('output_tokens_level'),
    outputTokensPerMs: doublePrecision('output_tokens_per_ms'),
    // Requests granted here whose response has not been seen yet (decays over a minute, so a crashed
    // caller's grant is forgotten). The API's bucket is full at `limit` while they are still on
    // their way: ours is full at `limit - in_flight`, or a slow network would let us run ahead of it.
    inFlight: doublePrecision('in_flight').notNull().default(0),
    // When the levels were last brought up to date (refill is computed, never stored per tick).
    refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull().defaultNow(),
    blockedUntil: timestamp('blocked_until', { withTimezone: true }),
    // Nothing known yet: one call (the probe) goes alone and the others wait for its response's
    // headers, instead of all instances bursting past a limit nobody has read yet.
    probingUntil: timestamp('probing_until', { withTimezone: true }),
    grants: integer('grants').notNull().default(0),
    refusals: integer('refusals').notNull().default(0),
    rateLimited: integer('rate_limited').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'agentpg_rate_limits_pkey', columns: [t.model, t.keyHash] }),
    check('agentpg_rate_limits_limits_check', sql`coalesce(${t.requestsLimit}, 1) > 0`),
  ],
);

/**
 * [ratelimit] Fairness across tenants: per bucket and tenant, recent grants (decayed, half-life
 * one minute) and the last refusal. When capacity is scarce, a tenant with more recent grants
 * than another tenant that is waiting yields to it (agentpg_rate_limit_acquire).
 */
export const rateLimitTenants = pgTable(
  'agentpg_rate_limit_tenants',
  {
    model: varchar('model', { length: 255 }).notNull(),
    keyHash: varchar('key_hash', { length: 64 }).notNull(),
    tenantId: varchar('tenant_id', { length: 255 }).notNull(),
    recentGrants: doublePrecision('recent_grants').notNull().default(0),
    decayedAt: timestamp('decayed_at', { withTimezone: true }).notNull().defaultNow(),
    grantedAt: timestamp('granted_at', { withTimezone: true }),
    refusedAt: timestamp('refused_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ name: 'agentpg_rate_limit_tenants_pkey', columns: [t.model, t.keyHash, t.tenantId] })],
);
