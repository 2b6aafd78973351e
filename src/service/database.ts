import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embeddedPostgres.js';

export interface ServiceDatabase {
  url: string;
  /** Where the data lives, for the start-up message; null with DATABASE_URL. */
  dataDir: string | null;
  stop(): Promise<void>;
}

const EMBEDDED_PASSWORD = 'agentpg';

/**
 * The service's database: DATABASE_URL when set; otherwise an embedded PostgreSQL whose data lives
 * in a project-local folder and survives restarts. A second service process on the same folder
 * finds the server the first one started (postmaster.pid) and shares it instead of failing.
 */
export async function openServiceDatabase(env: NodeJS.ProcessEnv): Promise<ServiceDatabase> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, dataDir: null, stop: async () => {} };
  const dataDir = path.resolve(env.AGENTPG_DATA_DIR ?? '.agentpg/pgdata');
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const running = runningServerPort(dataDir);
  if (running) {
    return { url: await ensureDatabase(serverUrl(running)), dataDir, stop: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dataDir, persistent: true });
  return { url: await ensureDatabase(server.url), dataDir, stop: server.stop };
}

function serverUrl(port: number): string {
  return `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
}

/** The port of a live postmaster for this data folder, from postmaster.pid (line 1 pid, line 4 port). */
function runningServerPort(dataDir: string): number | null {
  try {
    const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    process.kill(pid, 0);
    return Number(lines[3]) || null;
  } catch {
    return null;
  }
}

/** The service keeps its tables in a database of its own, `agentpg`, created on first start. */
async function ensureDatabase(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(`select 1 from pg_database where datname = 'agentpg'`);
    if (!rowCount) await admin.query('create database agentpg').catch(() => {});
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = '/agentpg';
  return url.toString();
}
