import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { PgBoss } from 'pg-boss';

/** The schema pg-boss installs its tables into. */
export const PGBOSS_SCHEMA = 'agentpg_boss';

/** The drizzle migrations shipped with the package (`drizzle/` at the package root). */
export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

// Any constant works as long as no other migration tool of the user's uses it: it serializes
// concurrent migrate() calls (five instances starting at once) across the whole server.
const MIGRATE_LOCK_KEY = 0x6167_6e74_7067; // "agntpg"

/**
 * Applies agentpg's schema (drizzle/ migrations) and pg-boss's schema. Idempotent; safe when many
 * instances call it at once: they queue on one advisory lock, and each migration already applied
 * is skipped. The lock is session-level on a dedicated client, never a pooled one.
 */
export async function migrate(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'agentpg-migrate' });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    try {
      await drizzleMigrate(drizzle(client), {
        migrationsFolder: MIGRATIONS_FOLDER,
        migrationsTable: 'agentpg_migrations',
        migrationsSchema: 'public',
      });
      await migratePgBoss(connectionString);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

/** Installs or upgrades pg-boss's schema without starting any of its background work. */
async function migratePgBoss(connectionString: string): Promise<void> {
  const boss = new PgBoss({
    connectionString,
    schema: PGBOSS_SCHEMA,
    supervise: false,
    schedule: false,
    migrate: true,
    max: 2,
  });
  boss.on('error', () => {});
  await boss.start();
  await boss.stop({ graceful: false });
}
