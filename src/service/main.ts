// `npm start`: the agentpg service. Zero-config on a fresh clone (embedded PostgreSQL, offline fake
// model); the same process in production with DATABASE_URL and ANTHROPIC_API_KEY.
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type pg from 'pg';
import { anyApiKey } from '../access/keys.js';
import { AgentPG } from '../client.js';
import { CONFIG_DEFAULTS } from '../config.js';
import { createPool } from '../db/connection.js';
import type { Queryable } from '../db/queryable.js';
import { installSignalHandlers } from '../cluster/signals.js';
import { describeConnection } from '../db/connection.js';
import { maskPassword } from '../db/localServer.js';
import { createLogger } from '../logger.js';
import { startFakeAnthropic } from '../testing/index.js';
import { openServiceDatabase } from './database.js';
import { exampleAgents, exampleLongRunningConfigs, exampleLongRunningKinds, exampleTools } from './examples.js';
import { isLoopback } from './guards.js';
import { createHttpApp } from './http.js';
import { createMetrics } from './metrics.js';
import { offlineResponder } from './offlineModel.js';
import { readLongRunningEnv } from './ownershipEnv.js';

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'info' });
  const port = Number(env.PORT ?? 3000);
  const longRunning = readLongRunningEnv(env);

  const database = await openServiceDatabase(env, process.cwd(), (message) => logger.warn(message));
  if (database.dataDir) {
    // The full URL (password masked unless asked for), so psql and other tools can reach the data.
    const url = maskPassword(database.url, env.AGENTPG_SHOW_PASSWORD === '1');
    logger.info(
      { dataDir: database.dataDir, url },
      `no DATABASE_URL: embedded PostgreSQL at ${url} with its data in ${database.dataDir} ` +
        '(AGENTPG_SHOW_PASSWORD=1 shows the password; `npx tsx src/cli/bin.ts status` finds it by itself)',
    );
  } else {
    logger.info({ database: describeConnection(database.url) }, 'using DATABASE_URL');
  }

  let anthropic: { apiKey?: string; baseURL?: string } = {
    apiKey: env.ANTHROPIC_API_KEY,
    baseURL: env.ANTHROPIC_BASE_URL,
  };
  let runMetadata: Record<string, unknown> | undefined;
  let fake: Awaited<ReturnType<typeof startFakeAnthropic>> | null = null;
  if (!env.ANTHROPIC_API_KEY) {
    fake = await startFakeAnthropic({
      responder: offlineResponder,
      record: false,
      latencyMs: Number(env.AGENTPG_FAKE_LATENCY_MS ?? 0), // to watch streaming and sharing in a demo
    });
    anthropic = { apiKey: 'offline', baseURL: fake.url };
    runMetadata = {
      model: 'offline-fake',
      note: 'answered by the offline fake model: set ANTHROPIC_API_KEY for Claude',
    };
    logger.warn('no ANTHROPIC_API_KEY: runs are answered by the OFFLINE FAKE MODEL, not Claude');
  }

  if (!longRunning.recovery) {
    logger.warn('AGENTPG_AGENT_RECOVERY=0: this instance runs no long-running agent and takes none over');
  }
  const client = new AgentPG({
    databaseUrl: database.url,
    anthropic,
    agents: exampleAgents,
    tools: exampleTools,
    longRunning: longRunning.recovery ? exampleLongRunningKinds : [],
    ownership: longRunning.ownership,
    hostname: env.HOSTNAME,
    logger,
    heartbeatIntervalMs: Number(env.AGENTPG_HEARTBEAT_MS ?? CONFIG_DEFAULTS.heartbeatIntervalMs),
    cleanupIntervalMs: Number(env.AGENTPG_CLEANUP_MS ?? CONFIG_DEFAULTS.cleanupIntervalMs),
    runConcurrency: Number(env.AGENTPG_RUN_CONCURRENCY ?? CONFIG_DEFAULTS.runConcurrency),
  });
  await client.start();

  // Metrics, probes and the API key every request's guard looks up run on the client's statement
  // pool: a pool of their own was up to 4 more connections per instance (README "Connections").
  // Except while draining: client.stop() closes that pool, and streams of runs that finished during
  // the drain still read their run's end (runEventStream.ts), so from the drain on they use a
  // one-connection pool opened for it.
  let draining = false;
  let drainPool: pg.Pool | null = null;
  const db: Queryable = {
    query: (text, values) => {
      if (!draining) return client.db.query(text, values);
      drainPool ??= createPool(database.url, { max: 1, applicationName: `agentpg-drain:${client.instanceId}` });
      return drainPool.query(text, values);
    },
  };
  const shutdown = new AbortController();
  const apiToken = env.AGENTPG_API_TOKEN || undefined;
  const host = env.HOST ?? '127.0.0.1';
  const app = createHttpApp(client, createMetrics(client, db), {
    apiToken,
    metricsPublic: env.AGENTPG_METRICS_PUBLIC === '1',
    allowedOrigins: (env.AGENTPG_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    runMetadata,
    longRunningConfigSchemas: exampleLongRunningConfigs,
    isDraining: () => draining,
    db,
    shutdown: shutdown.signal,
    // Kinds other instances run count too: with recovery off this one runs none but starts them.
    longRunningKinds: exampleLongRunningKinds.map((k) => k.kind),
  });
  if (!apiToken && !isLoopback(host) && !(await anyApiKey(db))) {
    logger.warn(
      { host, port, event: 'service_unauthenticated' },
      'no AGENTPG_API_TOKEN, no API key (`agentpg keys create`) and listening beyond loopback: ' +
        'anyone who can reach this port can run agents',
    );
  }
  const server = serve({ fetch: app.fetch, port, hostname: host });
  logger.info({ port, instanceId: client.instanceId }, `agentpg service listening on http://${host}:${port}`);

  // Shutdown: not ready at once (readyz 503, new work 503) while the listener stays open, so probes
  // see the drain and SSE streams of in-flight runs get their last events; drain and hand over
  // (client.stop(), bounded by shutdownTimeoutMs); only then close the listener, cutting streams of
  // runs handed back unfinished; then what the service itself opened. A second signal exits at once.
  installSignalHandlers(
    {
      config: client.config,
      stop: async () => {
        draining = true;
        await client.stop();
        shutdown.abort();
        await closeListener(server);
        await drainPool?.end().catch(() => {});
        await fake?.close();
        // Last: everything above may still need the database (deregistering the instance row).
        await database.stop().catch(() => {});
      },
    },
    { logger },
  );
}

/**
 * Stops accepting and waits for open responses (event streams finishing their last events) up to a
 * few seconds, then ends every connection left.
 */
async function closeListener(server: ReturnType<typeof serve>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http = server as Server;
  http.closeIdleConnections?.();
  const force = setTimeout(() => http.closeAllConnections?.(), 5_000);
  await closed;
  clearTimeout(force);
}

main().catch((err) => {
  console.error(`agentpg service failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
