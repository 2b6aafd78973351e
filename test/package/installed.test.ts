import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const exec = promisify(execFile);
const repo = path.resolve('.');

/**
 * agentpg as a consumer gets it: `npm pack` (which builds), the tarball installed into a project
 * of its own, then its `agentpg` bin link and its published types used from there. One pack and
 * one install for the whole file: both take a while.
 */
describe('the packed package, installed into another project', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentpg-pack-'));
    await exec('npm', ['pack', '--pack-destination', dir], { cwd: repo, maxBuffer: 16 << 20 });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, tarball)], {
      cwd: dir,
      maxBuffer: 16 << 20,
    });
    db = await createTestDatabase({ migrated: false });
  }, 600_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** node_modules/.bin/agentpg, started the way `npx agentpg` starts it. */
  async function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(path.join(dir, 'node_modules/.bin/agentpg'), args, {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: db.url },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('`agentpg --help` prints the usage and succeeds', async () => {
    const res = await bin('--help');
    expect(res.stdout).toContain('usage: agentpg <command>');
    expect(res.code).toBe(0);
  });

  it('`agentpg migrate` then `agentpg status` work through the bin link', async () => {
    const migrated = await bin('migrate', '--json');
    expect(migrated).toMatchObject({ code: 0 });
    expect(JSON.parse(migrated.stdout)).toEqual({ migrated: true });
    const status = await bin('status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ instances: [], queueDepth: 0, runsByState: [] });
    const human = await bin('status');
    expect(human.stdout).toContain('Queue depth: 0');
  });

  it('an unknown command is a usage error, not silence', async () => {
    const res = await bin('frobnicate');
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('unknown command: frobnicate');
  });

  it('the published types check with skipLibCheck: false (every type package they need is installed)', async () => {
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      path.join(dir, 'consumer.ts'),
      [
        `import { AgentPG, defineAgent, defineTool, type AgentPGConfig, type Run } from 'agentpg';`,
        `import { startFakeAnthropic, startTcpProxy, type FakeReply } from 'agentpg/testing';`,
        `export const used = [AgentPG, defineAgent, defineTool, startFakeAnthropic, startTcpProxy];`,
        `export type Used = [AgentPGConfig, Run, FakeReply];`,
      ].join('\n'),
    );
    const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
    const res = await exec(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFiles'], { cwd: dir }).then(
      (out: { stdout: string }) => ({ code: 0, stdout: out.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
    );
    // No error at all, in agentpg's .d.ts files or in any package they load: a missing type package
    // (TS7016), drizzle-orm's declarations pulled in, or pg-boss's (12.38's own declarations import
    // ResolvedConstructorOptions, which it does not export: TS2724). The published declarations must
    // never reach pg-boss (internals are @internal, stripped by tsconfig.build.json).
    const errors = res.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toEqual([]);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n').filter((l) => l.includes('/node_modules/pg-boss/'))).toEqual([]);
  }, 300_000);
});
