import { bigint, integer, jsonb, pgTable, primaryKey, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';
import { sessions } from './runs.js';

/**
 * One compaction of a session's conversation (src/runs/compaction.ts): the messages with
 * seq <= `through_seq` are archived, and `replacement` (a summary message, or the pruned messages)
 * stands in for them in every later model request. Nothing is deleted: the archived originals stay
 * in agentpg_messages, readable with `sessions.messages(id, { archived: true })`. A run's pick-up
 * reads the session's latest compaction (this primary key, backwards) and then only the messages
 * after its `through_seq` (agentpg_messages_pkey range), so its cost does not grow with the session.
 */
export const compactions = pgTable(
  'agentpg_compactions',
  {
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    // 1, 2, 3... per session. The primary key makes a second compaction built on the same earlier
    // one (a slow execution that lost its claim) fail instead of adding a duplicate.
    number: integer('number').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    // The run that compacted; null for an on-demand compaction.
    runId: uuid('run_id'),
    throughSeq: bigint('through_seq', { mode: 'number' }).notNull(),
    // Messages API messages ({ role, content }) replacing everything up to through_seq.
    replacement: jsonb('replacement').$type<Array<{ role: 'user' | 'assistant'; content: unknown[] }>>().notNull(),
    strategy: varchar('strategy', { length: 50 }).notNull(),
    // The summarizer's model (null when no model call was needed, e.g. pruning was enough).
    model: varchar('model', { length: 255 }),
    messagesArchived: integer('messages_archived').notNull(),
    tokensBefore: integer('tokens_before').notNull(),
    tokensAfter: integer('tokens_after').notNull(),
    // The summarizer call's own usage (not added to the run's tokens).
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    durationMs: integer('duration_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'agentpg_compactions_pkey', columns: [t.sessionId, t.number] })],
);
