import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, stopPostmaster } from '../db/embeddedPostgres.js';
import {
  LOCAL_DATABASE,
  localDataDir,
  localPassword,
  localServerUrl,
  maskPassword,
  processAlive,
  readLocalServerState,
  removeLocalServerState,
  writeLocalServerState,
} from '../db/localServer.js';

export interface ServiceDatabase {
  url: string;
  /** Where the data lives, for the start-up message; null with DATABASE_URL. */
  dataDir: string | null;
  /** Stops what this process started; the service calls it last, after deregistering. */
  stop(): Promise<void>;
}

/**
 * The service's database: DATABASE_URL when set; otherwise an embedded PostgreSQL whose data
 * survives restarts (see localDataDir), owned by this process: it starts the server and stops it
 * last. A second zero-config service on the same data is refused with the first one's URL (riding
 * on a server another process stops would break it mid-run); a server left behind by a service
 * that died without stopping it is stopped and started afresh.
 */
export async function openServiceDatabase(
  env: NodeJS.ProcessEnv,
  projectDir: string = process.cwd(),
  onWarning: (message: string) => void = () => {},
): Promise<ServiceDatabase> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, dataDir: null, stop: async () => {} };
  const dataDir = localDataDir(env, projectDir);
  await takeOver(dataDir, onWarning);
  const password = localPassword(dataDir);
  const server = await startEmbeddedPostgres({ dataDir, persistent: true, password, detached: true });
  writeLocalServerState({
    ownerPid: process.pid,
    postmasterPid: server.pid,
    port: server.port,
    dataDir,
    startedAt: new Date().toISOString(),
  });
  const stop = async () => {
    await server.stop();
    removeLocalServerState(dataDir);
  };
  try {
    await ensureDatabase(server.url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: localServerUrl(server.port, password, LOCAL_DATABASE), dataDir, stop };
}

async function takeOver(dataDir: string, onWarning: (message: string) => void): Promise<void> {
  const postmasterPid = runningPostmaster(dataDir);
  if (postmasterPid === null) return;
  const state = readLocalServerState(dataDir);
  if (state && state.ownerPid !== process.pid && processAlive(state.ownerPid)) {
    const url = maskPassword(localServerUrl(state.port, localPassword(dataDir)));
    throw new Error(
      `another agentpg service (pid ${state.ownerPid}) already runs the embedded PostgreSQL of this project ` +
        `(${url}, data in ${dataDir}). Stop it first, or give this one a database of its own (DATABASE_URL, ` +
        'or AGENTPG_DATA_DIR for another embedded one).',
    );
  }
  onWarning(`embedded PostgreSQL (pid ${postmasterPid}) was left running by a service that ended: restarting it`);
  await stopPostmaster(postmasterPid);
}

/**
 * The pid of a live postmaster on this data folder (postmaster.pid, line 1), checked against the
 * process's command line where /proc tells it, so a stale file whose pid was reused is ignored.
 */
function runningPostmaster(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  if (!(pid > 0) || !processAlive(pid)) return null;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(dataDir) ? pid : null;
  } catch {
    return pid;
  }
}

/** The service keeps its tables in a database of its own, `agentpg`, created on first start. */
async function ensureDatabase(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(`select 1 from pg_database where datname = $1`, [LOCAL_DATABASE]);
    if (!rowCount) await admin.query(`create database ${LOCAL_DATABASE}`).catch(() => {});
  } finally {
    await admin.end();
  }
}
