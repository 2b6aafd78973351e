import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs the real CLI entry point (src/cli/bin.ts) as a child process on `databaseUrl`, like an operator would. */
export async function cliProcess(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', path.resolve('src/cli/bin.ts'), ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}
