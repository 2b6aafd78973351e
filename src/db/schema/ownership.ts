import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * Lock shards (issue 7). Ownership of long-running agents is a session-level advisory lock per
 * SHARD, not per agent, so the number of locks agentpg ever holds is bounded by the number of rows
 * here (default 1024) however many agents exist. The rows are created by the first instance that
 * starts the ownership manager (`ownership.shards`, ids 0..n-1, never removed). `epoch` counts the
 * acquisitions of the shard; `owner_instance_id` mirrors the lock holder for humans (the truth is
 * pg_locks, see the view agentpg_long_running_owners).
 */
export const longRunningShards = pgTable(
  'agentpg_long_running_shards',
  {
    id: integer('id').primaryKey(),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    ownerInstanceId: varchar('owner_instance_id', { length: 255 }),
    acquiredAt: timestamp('acquired_at', { withTimezone: true }),
  },
  (t) => [check('agentpg_long_running_shards_id_check', sql`${t.id} >= 0`)],
);

/**
 * Long-running agents: desired state (`active`), current owner, fencing epoch,
 * checkpoint. Ownership itself is the advisory lock of the agent's shard; these columns mirror it
 * so it can be read in SQL, and `epoch` (bumped on every acquisition) fences every write an owner
 * makes.
 */
export const longRunningAgents = pgTable(
  'agentpg_long_running_agents',
  {
    id: varchar('id', { length: 255 }).primaryKey(),
    // Insertion order number; a BEFORE INSERT trigger sets shard = lock_key % (number of shards),
    // which spreads agents round-robin over the shards (an integer, never a hash that can collide).
    lockKey: bigint('lock_key', { mode: 'number' }).generatedAlwaysAsIdentity().notNull().unique(),
    kind: varchar('kind', { length: 255 }).notNull(),
    active: boolean('active').notNull().default(true),
    shard: integer('shard')
      .notNull()
      .references(() => longRunningShards.id),
    ownerInstanceId: varchar('owner_instance_id', { length: 255 }),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    checkpoint: jsonb('checkpoint'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    restartCount: integer('restart_count').notNull().default(0),
    lastError: text('last_error'),
    // Set when the owner gave up restarting a handler that kept throwing (maxRestarts within
    // restartWindowMs); the agent is inactive from then on. longRunning.start() clears it.
    failedAt: timestamp('failed_at', { withTimezone: true }),
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

/**
 * One row per acquisition of a shard lock: who (instance, lock backend pid), which epoch, from
 * when, until when. `released_at` is written by the releasing owner on a graceful hand-over, or by
 * the next owner when the previous one vanished (the lock was free by then, so it is an upper
 * bound). Tests and the chaos suite check that the intervals of one shard never overlap.
 */
export const longRunningOwnershipLog = pgTable(
  'agentpg_long_running_ownership_log',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    shard: integer('shard').notNull(),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    instanceId: varchar('instance_id', { length: 255 }).notNull(),
    lockPid: integer('lock_pid'),
    acquiredAt: timestamp('acquired_at', { withTimezone: true }).notNull(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    releaseReason: varchar('release_reason', { length: 50 }),
  },
  (t) => [
    index('agentpg_long_running_ownership_log_shard_idx').on(t.shard, t.acquiredAt),
    // Open intervals of a shard are closed by the next owner; old rows are pruned by age.
    index('agentpg_long_running_ownership_log_open_idx')
      .on(t.shard)
      .where(sql`${t.releasedAt} is null`),
    index('agentpg_long_running_ownership_log_released_idx').on(t.releasedAt),
  ],
);
