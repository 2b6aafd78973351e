import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embeddedPostgres.js';
import { localPassword } from '../../src/db/localServer.js';
import { startService } from '../helpers/service.js';

const exec = promisify(execFile);

/**
 * The zero-config `npm start` owns its embedded PostgreSQL: it says where it is, the CLI finds it,
 * a second zero-config start on the same data is refused, and on SIGTERM the server stops last.
 */
describe('zero-config npm start and its embedded PostgreSQL', () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpg-zc-'));
  fs.chmodSync(parent, 0o755); // our own folder: as root, the server's OS user must reach the data in it
  const dataDir = path.join(parent, 'pgdata');
  const env = { DATABASE_URL: undefined, ANTHROPIC_API_KEY: undefined, AGENTPG_DATA_DIR: dataDir };
  afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

  it('prints its URL, is found by the CLI, refuses a second owner, and deregisters before the server stops', async () => {
    const first = await startService(env);
    let code: number | null;
    try {
      const shown = /embedded PostgreSQL at (postgres:\/\/\S+)/.exec(first.output())?.[1];
      expect(shown).toMatch(/^postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/agentpg$/);

      // The CLI, with no DATABASE_URL, reaches the same server by itself.
      const cliEnv: NodeJS.ProcessEnv = { ...process.env, AGENTPG_DATA_DIR: dataDir };
      delete cliEnv.DATABASE_URL;
      const { stdout } = await exec(
        process.execPath,
        ['--import', 'tsx', path.resolve('src/cli/bin.ts'), 'status', '--json'],
        {
          env: cliEnv,
        },
      );
      expect(JSON.parse(stdout).instances).toHaveLength(1);

      // A second zero-config start on the same data says who owns the server, and stops.
      const second = await runToExit(env);
      expect(second.code).toBe(1);
      expect(second.output).toContain(`another agentpg service (pid ${first.child.pid})`);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    } finally {
      code = await first.stop();
    }
    expect(code).toBe(0);
    expect(first.output()).not.toMatch(/Connection terminated|57P03|terminating connection/);
    expect(first.output()).toMatch(/"msg":"stopped"/);

    // The instance row went away before the server stopped: start the server on the same data and look.
    const server = await startEmbeddedPostgres({ dataDir, password: localPassword(dataDir) });
    try {
      const db = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/agentpg') });
      await db.connect();
      const { rows } = await db.query('select id from agentpg_instances');
      await db.end();
      expect(rows).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 180_000);
});

/** Runs the service until it exits by itself (a refused start), with a bound. */
async function runToExit(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/service/main.ts')], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}
