import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embeddedPostgres.js';
import { migrate } from '../../src/db/migrate.js';

/** application_name of every connection the harness itself opens (excluded from connection counts). */
export const HARNESS_APP = 'agentpg-bench';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface BenchServer {
  url: string;
  /** 'embedded' (our own server: restartable, clean WAL) or 'external' (DATABASE_URL's). */
  kind: 'embedded' | 'external';
  port: number;
  host: string;
  version: string;
  /** Stops the server (embedded only) and keeps its data; start() brings it back on the same port. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops and deletes an embedded server; no-op for an external one. */
  close(): Promise<void>;
}

/**
 * An embedded PostgreSQL of our own (default settings unless `flags` say otherwise): the only kind
 * of server a benchmark may restart, and the only one whose WAL is not inflated by anyone else.
 * Data lives in a temporary folder that close() deletes.
 */
export async function startOwnServer(options: { flags?: string[] } = {}): Promise<BenchServer> {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpg-bench-'));
  // As root, Postgres runs as the `postgres` user, which must be able to reach the data folder.
  fs.chmodSync(parent, 0o755);
  const dataDir = path.join(parent, 'pgdata');
  let server: EmbeddedServer | null = await startEmbeddedPostgres({
    dataDir,
    persistent: true,
    postgresFlags: options.flags ?? [],
  });
  const port = server.port;
  const url = server.url;
  const version = await serverVersion(url);
  return {
    url,
    kind: 'embedded',
    port,
    host: '127.0.0.1',
    version,
    async stopServer() {
      const s = server;
      server = null;
      await s?.stop();
    },
    async startServer() {
      if (server) return;
      server = await startEmbeddedPostgres({ dataDir, port, persistent: true, postgresFlags: options.flags ?? [] });
    },
    async close() {
      const s = server;
      server = null;
      await s?.stop().catch(() => {});
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/** DATABASE_URL's server, used as is: never stopped, never restarted. */
export async function externalServer(url: string): Promise<BenchServer> {
  const u = new URL(url);
  const version = await serverVersion(url);
  const refuse = async () => {
    throw new Error('refusing to stop or restart a server the benchmark does not own');
  };
  return {
    url,
    kind: 'external',
    port: Number(u.port || 5432),
    host: u.hostname,
    version,
    stopServer: refuse,
    startServer: refuse,
    close: async () => {},
  };
}

async function serverVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url, application_name: HARNESS_APP });
  await c.connect();
  try {
    const { rows } = await c.query<{ v: string }>(`select current_setting('server_version') as v`);
    return rows[0].v;
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** The harness's own pool (application_name agentpg-bench). */
  pool: pg.Pool;
  query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** CREATE DATABASE agentpg_bench_<random> on the server, migrated with agentpg's migrate(). */
export async function createBenchDatabase(serverUrl: string, prefix = 'agentpg_bench'): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl, application_name: HARNESS_APP });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 6, application_name: HARNESS_APP });
  pool.on('error', () => {});
  return {
    name,
    url,
    pool,
    query: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    drop: async () => {
      await pool.end().catch(() => {});
      const a = new pg.Client({ connectionString: serverUrl, application_name: HARNESS_APP });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}

/** Waits until `check` returns a truthy value, polling every `everyMs`; throws after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
