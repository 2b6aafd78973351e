import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * Long-running agents (seed 004): desired state (`active`), current owner, fencing epoch,
 * checkpoint. Ownership itself is a session-level advisory lock; these columns mirror it so it
 * can be read in SQL, and `epoch` fences every write an owner makes.
 */
export const longRunningAgents = pgTable(
  'agentpg_long_running_agents',
  {
    id: varchar('id', { length: 255 }).primaryKey(),
    // A 64-bit integer key for the advisory lock namespace, unique: never a hash that can collide.
    lockKey: bigint('lock_key', { mode: 'number' }).generatedAlwaysAsIdentity().notNull().unique(),
    kind: varchar('kind', { length: 255 }).notNull(),
    active: boolean('active').notNull().default(true),
    shard: integer('shard').notNull(),
    ownerInstanceId: varchar('owner_instance_id', { length: 255 }),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    checkpoint: jsonb('checkpoint'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    restartCount: integer('restart_count').notNull().default(0),
    lastError: text('last_error'),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }),
    ownedSince: timestamp('owned_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('agentpg_long_running_agents_epoch_check', sql`${t.epoch} >= 0`),
    index('agentpg_long_running_agents_shard_idx').on(t.shard),
    index('agentpg_long_running_agents_owner_idx').on(t.ownerInstanceId),
  ],
);
