import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR } from './context.js';

/**
 * Worker processes run as plain JavaScript, the way a user runs agentpg (`node dist/...`), not
 * under the tsx loader: tsx transforms every module on load and keeps its source maps in memory,
 * which would add seconds to each process start and tens of MB to the RSS measured. Each worker is
 * bundled once per harness run with esbuild (already installed as tsx's own dependency), with
 * node_modules left external, into node_modules/.cache so packages resolve as usual. Without
 * esbuild the workers fall back to tsx, and the caller is told so.
 */
export interface BundledWorker {
  file: string;
  /** true: run with plain node; false: run the .ts source under tsx. */
  plain: boolean;
}

export async function bundleWorkers(
  names: Record<string, string>,
): Promise<{ workers: Record<string, BundledWorker>; note: string | null }> {
  // One folder per checkout: worktrees that share node_modules (a symlink) would otherwise overwrite
  // each other's bundles mid-run, and a run would execute another checkout's code.
  const checkout = createHash('sha256').update(BENCH_DIR).digest('hex').slice(0, 12);
  const outDir = path.resolve(BENCH_DIR, `../node_modules/.cache/agentpg-bench-${checkout}`);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    const workers = Object.fromEntries(Object.entries(names).map(([k, file]) => [k, { file, plain: false }]));
    return { workers, note: 'esbuild not found: worker processes run under tsx (slower start, higher RSS)' };
  }
  fs.mkdirSync(outDir, { recursive: true });
  const workers: Record<string, BundledWorker> = {};
  for (const [name, file] of Object.entries(names)) {
    const outfile = path.join(outDir, `${name}.mjs`);
    await esbuild.build({
      entryPoints: [file],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      sourcemap: false,
      logLevel: 'error',
    });
    workers[name] = { file: outfile, plain: true };
  }
  return { workers, note: null };
}
