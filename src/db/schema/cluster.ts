import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  type AnyPgColumn,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core';
import { passColumns } from './columns.js';

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

/**
 * Which instance can execute which agent or tool (`key`: a row of `target`), indexed by it: "is any
 * live instance able to run agent X?" (orphaned agents, capability routing). Removed with the
 * instance, or the agent or tool (CASCADE).
 */
function instanceLinks<K extends string>(name: string, key: K, column: string, target: () => AnyPgColumn, idx: string) {
  const linked = varchar(column, { length: 255 }).notNull().references(target, { onDelete: 'cascade' });
  return pgTable(
    name,
    {
      instanceId: varchar('instance_id', { length: 255 })
        .notNull()
        .references(() => instances.id, { onDelete: 'cascade' }),
      ...({ [key]: linked } as Record<K, typeof linked>),
      registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => {
      const linkedColumn = (t as unknown as Record<K, AnyPgColumn>)[key];
      return [primaryKey({ columns: [t.instanceId, linkedColumn] }), index(idx).on(linkedColumn)];
    },
  );
}

export const instanceAgents = instanceLinks(
  'agentpg_instance_agents',
  'agentName',
  'agent_name',
  () => agents.name,
  'agentpg_instance_agents_agent_idx',
);
export const instanceTools = instanceLinks(
  'agentpg_instance_tools',
  'toolName',
  'tool_name',
  () => tools.name,
  'agentpg_instance_tools_tool_idx',
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
    ...passColumns(),
    // The throttle slot pg-boss computed (start of the slot, database time).
    slot: timestamp('slot', { withTimezone: true }),
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
