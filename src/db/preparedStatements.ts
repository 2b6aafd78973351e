import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from './queryable.js';

/**
 * A Queryable over a checked-out connection that prepares each statement once per connection,
 * named after a hash of its text (so one name is never two texts), and from then on only binds
 * and executes it. For the statements on the path of every run start and resume (the fetch
 * transaction, src/runs/worker.ts): pg-boss's fetch costs about as much to plan as to run. Only
 * for statements whose texts form a small set: a connection keeps every statement it prepared.
 * Over the pool, each autocommit statement is prepared once per pooled connection (the lone
 * enqueue, src/runs/enqueueBatcher.ts).
 */
export function preparedStatements(client: pg.PoolClient | pg.Pool): Queryable {
  return {
    query: (text, values) => client.query({ name: statementName(text), text, values }),
  };
}

function statementName(text: string): string {
  return `agentpg_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
}
