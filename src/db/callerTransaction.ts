import { sql } from 'drizzle-orm';
import { fromDrizzle } from 'pg-boss';
import { ValidationError } from '../errors.js';
import type { Queryable } from './queryable.js';

/**
 * A connection of the caller's, inside the caller's own open transaction, that agentpg writes
 * through so its rows commit or roll back with the caller's (`agent.enqueue(..., { db })`,
 * `agent.newSession({ ..., db })`). Accepted shapes:
 * - a `pg` Client or PoolClient on which the caller ran BEGIN;
 * - a drizzle transaction (`db.transaction(async (tx) => ...)`), any driver drizzle supports;
 * - anything with pg-boss's `executeSql(text, values)` (pg-boss's knex, kysely and prisma adapters).
 */
export type CallerTransaction =
  | { query(text: string, values?: unknown[]): Promise<{ rows: any[] }> }
  | { executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }> }
  | { execute(query: unknown): Promise<unknown> };

/** The caller's transaction as our Queryable; a ValidationError for anything else. */
export function callerQueryable(db: unknown): Queryable {
  const candidate = db as Record<string, unknown> | null;
  if (candidate && typeof candidate === 'object') {
    if (typeof candidate.query === 'function') return candidate as unknown as Queryable;
    if (typeof candidate.executeSql === 'function') {
      const run = candidate.executeSql as (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;
      return { query: async (text, values) => (await run.call(candidate, text, values)) as any };
    }
    if (typeof candidate.execute === 'function') {
      const adapter = fromDrizzle(candidate as any, sql as any);
      return {
        query: async (text, values) => {
          const result = (await adapter.executeSql(text, values)) as unknown;
          // drizzle over node-postgres returns pg's result; over postgres.js, the rows themselves.
          return (Array.isArray(result) ? { rows: result } : result) as any;
        },
      };
    }
  }
  throw new ValidationError('db must be a pg client inside a transaction, a drizzle transaction, or a pg-boss Db');
}
