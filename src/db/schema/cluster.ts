import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

/** One row per live agentpg client process; heartbeats keep `last_heartbeat_at` fresh. */
export const instances = pgTable(
  'agentpg_instances',
  {
    id: varchar('id', { length: 255 }).primaryKey(),
    hostname: varchar('hostname', { length: 255 }),
    pid: integer('pid'),
    /** Backend pid of the instance's liveness session; its advisory lock proves the instance alive (src/cluster/liveness.ts). */
    livenessPid: integer('liveness_pid'),
    version: varchar('version', { length: 50 }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastHeartbeatAt: timestamp('last_heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The cleanup job looks for stale instances by heartbeat age.
  (t) => [index('agentpg_instances_heartbeat_idx').on(t.lastHeartbeatAt)],
);

/** Agent definitions, upserted by every instance that registers the agent. */
export const agents = pgTable('agentpg_agents', {
  name: varchar('name', { length: 255 }).primaryKey(),
  description: text('description'),
  model: varchar('model', { length: 255 }).notNull(),
  systemPrompt: text('system_prompt'),
  maxTokens: integer('max_tokens'),
  temperature: real('temperature'),
  tools: text('tools')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Tool definitions (name, description, JSON Schema of the input). */
export const tools = pgTable('agentpg_tools', {
  name: varchar('name', { length: 255 }).primaryKey(),
  description: text('description').notNull(),
  inputSchema: jsonb('input_schema').$type<Record<string, unknown>>().notNull(),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Which instance can execute which agent; removed with the instance (CASCADE). */
export const instanceAgents = pgTable(
  'agentpg_instance_agents',
  {
    instanceId: varchar('instance_id', { length: 255 })
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    agentName: varchar('agent_name', { length: 255 })
      .notNull()
      .references(() => agents.name, { onDelete: 'cascade' }),
    registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.instanceId, t.agentName] }),
    // "Is any live instance able to run agent X?" (orphaned agents).
    index('agentpg_instance_agents_agent_idx').on(t.agentName),
  ],
);

/** Which instance can execute which tool; removed with the instance (CASCADE). */
export const instanceTools = pgTable(
  'agentpg_instance_tools',
  {
    instanceId: varchar('instance_id', { length: 255 })
      .notNull()
      .references(() => instances.id, { onDelete: 'cascade' }),
    toolName: varchar('tool_name', { length: 255 })
      .notNull()
      .references(() => tools.name, { onDelete: 'cascade' }),
    registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.toolName] }), index('agentpg_instance_tools_tool_idx').on(t.toolName)],
);

/**
 * One row per cleanup pass (a pg-boss throttled job, run by one instance per time slot):
 * which instance ran it, for which time slot, and what it did. `job_id` is unique, so a retried
 * job updates its own row instead of adding one; the slot is deliberately NOT unique, so a defect
 * that ran one slot twice stays visible (the tests count passes per slot).
 */
export const cleanupPasses = pgTable(
  'agentpg_cleanup_passes',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    // The pg-boss job of the pass; null for a pass run by hand (client.runCleanupPass()).
    jobId: uuid('job_id').unique(),
    // The throttle slot pg-boss computed (start of the slot, database time).
    slot: timestamp('slot', { withTimezone: true }),
    instanceId: varchar('instance_id', { length: 255 }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    staleInstances: integer('stale_instances').notNull().default(0),
    stuckRuns: integer('stuck_runs').notNull().default(0),
    releasedRuns: integer('released_runs').notNull().default(0),
    freedAgents: integer('freed_agents').notNull().default(0),
    error: text('error'),
  },
  (t) => [
    index('agentpg_cleanup_passes_started_idx').on(t.startedAt),
    index('agentpg_cleanup_passes_slot_idx').on(t.slot),
  ],
);
