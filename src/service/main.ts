// `npm start`: the agentpg service. Zero-config on a fresh clone (embedded PostgreSQL, offline fake
// model); the same process in production with DATABASE_URL and ANTHROPIC_API_KEY.
import { serve } from '@hono/node-server';
import pg from 'pg';
import { AgentPG } from '../client.js';
import { installSignalHandlers } from '../cluster/signals.js';
import { describeConnection } from '../db/connection.js';
import { createLogger } from '../logger.js';
import { startFakeAnthropic } from '../testing/index.js';
import { openServiceDatabase } from './database.js';
import { exampleAgents, exampleLongRunningKinds, exampleTools } from './examples.js';
import { createHttpApp } from './http.js';
import { createMetrics } from './metrics.js';
import { offlineResponder } from './offlineModel.js';

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'info' });
  const port = Number(env.PORT ?? 3000);

  const database = await openServiceDatabase(env);
  if (database.dataDir) {
    logger.info({ dataDir: database.dataDir }, `no DATABASE_URL: embedded PostgreSQL with its data in ${database.dataDir}`);
  } else {
    logger.info({ database: describeConnection(database.url) }, 'using DATABASE_URL');
  }

  let anthropic: { apiKey?: string; baseURL?: string } = { apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL };
  let runMetadata: Record<string, unknown> | undefined;
  let fake: Awaited<ReturnType<typeof startFakeAnthropic>> | null = null;
  if (!env.ANTHROPIC_API_KEY) {
    fake = await startFakeAnthropic({
      responder: offlineResponder,
      record: false,
      latencyMs: Number(env.AGENTPG_FAKE_LATENCY_MS ?? 0), // to watch streaming and sharing in a demo
    });
    anthropic = { apiKey: 'offline', baseURL: fake.url };
    runMetadata = { model: 'offline-fake', note: 'answered by the offline fake model: set ANTHROPIC_API_KEY for Claude' };
    logger.warn('no ANTHROPIC_API_KEY: runs are answered by the OFFLINE FAKE MODEL, not Claude');
  }

  const client = new AgentPG({
    databaseUrl: database.url,
    anthropic,
    agents: exampleAgents,
    tools: exampleTools,
    longRunning: exampleLongRunningKinds,
    hostname: env.HOSTNAME,
    logger,
    heartbeatIntervalMs: Number(env.AGENTPG_HEARTBEAT_MS ?? 30_000),
    cleanupIntervalMs: Number(env.AGENTPG_CLEANUP_MS ?? 60_000),
    runConcurrency: Number(env.AGENTPG_RUN_CONCURRENCY ?? 100),
  });
  await client.start();

  const statsPool = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'agentpg-service-metrics' });
  statsPool.on('error', () => {});
  let draining = false;
  const app = createHttpApp(client, createMetrics(client, statsPool), {
    apiToken: env.AGENTPG_API_TOKEN || undefined,
    runMetadata,
    isReady: () => !draining && client.isRunning,
  });
  const server = serve({ fetch: app.fetch, port, hostname: env.HOST ?? '127.0.0.1' });
  logger.info({ port, instanceId: client.instanceId }, `agentpg service listening on http://${env.HOST ?? '127.0.0.1'}:${port}`);

  // Seed 004's shutdown: not ready at once (readyz 503), drain and hand over (client.stop()),
  // deregister, then close what the service itself opened. A second signal exits at once.
  installSignalHandlers(
    {
      config: client.config,
      stop: async () => {
        draining = true;
        server.close();
        await client.stop();
        await statsPool.end().catch(() => {});
        await fake?.close();
        await database.stop().catch(() => {});
      },
    },
    { logger },
  );
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error(`agentpg service failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
