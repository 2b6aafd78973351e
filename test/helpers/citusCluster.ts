import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The Citus build for this machine's PostgreSQL 15 (install.sh, start-cluster.sh, stop-cluster.sh),
 * if there is one: AGENTPG_CITUS_DIR, else `../shared/citus` next to the project, else
 * `/work/shared/citus`. Null when none has the scripts.
 */
export function findCitusBuild(): string | null {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const candidates = [process.env.AGENTPG_CITUS_DIR, path.resolve(root, '../shared/citus'), '/work/shared/citus'];
  for (const dir of candidates)
    if (dir && fs.existsSync(path.join(dir, 'start-cluster.sh')) && fs.existsSync(path.join(dir, 'install.sh')))
      return dir;
  return null;
}

/** A coordinator and its workers on this machine, in their own temporary folder. */
export interface LocalCitusCluster {
  /** The coordinator's URL (database `postgres`). */
  url: string;
  workers: number;
  /** Stops every node and removes the folder. */
  stop(): Promise<void>;
}

async function freePortRun(count: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await isFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free run of ports for a Citus cluster');
}

/**
 * Starts a cluster with the build's start-cluster.sh (root: it runs the servers as the `postgres` OS
 * user, who owns the temporary folder it makes under the OS temp dir, reachable by that user).
 * Never touches a server that was already running.
 */
export async function startLocalCitusCluster(build: string, workers = 2): Promise<LocalCitusCluster> {
  // The folder is created 0700 by mkdtemp; start-cluster.sh hands it to `postgres`. Its parent
  // (the OS temp dir) must be traversable by that user, which /tmp is.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpg-citus-'));
  const port = await freePortRun(workers + 1);
  try {
    const { stdout } = await run(path.join(build, 'start-cluster.sh'), [dir, String(port), String(workers)], {
      timeout: 300_000,
    });
    const url = stdout.trim().split('\n').at(-1)!;
    return {
      url,
      workers,
      stop: async () => {
        await run(path.join(build, 'stop-cluster.sh'), [dir], { timeout: 120_000 }).catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await run(path.join(build, 'stop-cluster.sh'), [dir], { timeout: 120_000 }).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
