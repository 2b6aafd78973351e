import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { serverUser, untraversableFolder } from './serverUser.js';

/**
 * The zero-config database of a project: the embedded PostgreSQL that `npm start` runs when no
 * DATABASE_URL is given. Beside its data folder live `password` (chosen at the cluster's creation)
 * and, while a service owns the server, `server.json`: how the CLI and a second `npm start` find it.
 */
export interface LocalServerState {
  /** The `npm start` process that owns (started, and will stop) the server. */
  ownerPid: number;
  postmasterPid: number;
  port: number;
  dataDir: string;
  startedAt: string;
}

/** The database the service keeps its tables in, inside the embedded server. */
export const LOCAL_DATABASE = 'agentpg';

/**
 * AGENTPG_DATA_DIR when set; else `.agentpg/pgdata` in the project; else, when the server's OS
 * user cannot reach the project (root in a mode-700 folder such as a `mktemp -d` clone or /root),
 * /var/lib/agentpg/<hash of the project path>/pgdata, which survives restarts just the same.
 */
export function localDataDir(env: NodeJS.ProcessEnv, projectDir: string): string {
  if (env.AGENTPG_DATA_DIR) return path.resolve(projectDir, env.AGENTPG_DATA_DIR);
  const local = path.join(path.resolve(projectDir), '.agentpg', 'pgdata');
  if (!untraversableFolder(path.dirname(local), serverUser({ create: false }))) return local;
  const hash = createHash('sha256').update(path.resolve(projectDir)).digest('hex').slice(0, 16);
  return path.join('/var/lib/agentpg', hash, 'pgdata');
}

const statePath = (dataDir: string) => path.join(path.dirname(dataDir), 'server.json');
const passwordPath = (dataDir: string) => path.join(path.dirname(dataDir), 'password');

export function readLocalServerState(dataDir: string): LocalServerState | null {
  try {
    return JSON.parse(fs.readFileSync(statePath(dataDir), 'utf8')) as LocalServerState;
  } catch {
    return null;
  }
}

export function writeLocalServerState(state: LocalServerState): void {
  fs.writeFileSync(statePath(state.dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function removeLocalServerState(dataDir: string): void {
  fs.rmSync(statePath(dataDir), { force: true });
}

/**
 * The cluster's password: read from beside the data folder, or made up (and stored, mode 600) for
 * a cluster about to be created. Clusters made before it was stored used `agentpg`.
 */
export function localPassword(dataDir: string): string {
  try {
    return fs.readFileSync(passwordPath(dataDir), 'utf8').trim();
  } catch {
    if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return 'agentpg';
    const password = randomBytes(18).toString('base64url');
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    fs.writeFileSync(passwordPath(dataDir), `${password}\n`, { mode: 0o600 });
    return password;
  }
}

export function localServerUrl(port: number, password: string, database: string = LOCAL_DATABASE): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** The URL with its password shown as **** (unless `show`), for start-up messages. */
export function maskPassword(url: string, show = false): string {
  if (show) return url;
  const u = new URL(url);
  if (u.password) u.password = '****';
  return u.toString();
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The URL of the project's running embedded server (its `agentpg` database), or null when no
 * `npm start` owns one or it does not answer.
 */
export async function findLocalServer(env: NodeJS.ProcessEnv, projectDir: string): Promise<string | null> {
  const dataDir = localDataDir(env, projectDir);
  const state = readLocalServerState(dataDir);
  if (!state || !processAlive(state.postmasterPid)) return null;
  const url = localServerUrl(state.port, localPassword(dataDir));
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return url;
  } catch {
    return null;
  } finally {
    await probe.end().catch(() => {});
  }
}
