import { defineConfig } from 'drizzle-kit';

// drizzle-kit reads the TypeScript schema and writes SQL migrations into drizzle/.
// `npm run db:generate` after a schema change; `npm run db:check` (run in CI) fails when the
// committed migrations and the schema disagree.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: process.env.DRIZZLE_OUT ?? './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
