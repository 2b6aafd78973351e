import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Child } from './child.js';
import type { BenchServer } from './database.js';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The worker scripts' TypeScript sources. */
export const WORKER_SOURCES = {
  instance: path.join(BENCH_DIR, 'workers/instance.ts'),
  baseline: path.join(BENCH_DIR, 'workers/baseline.ts'),
  fakeModel: path.join(BENCH_DIR, 'workers/fakeModel.ts'),
  limit: path.join(BENCH_DIR, 'workers/limit.ts'),
  startBaseline: path.join(BENCH_DIR, 'workers/startBaseline.ts'),
};
export type WorkerName = keyof typeof WORKER_SOURCES;

export interface WorkerScript {
  file: string;
  /** Run with plain node (a bundled .mjs) rather than under tsx. */
  plain: boolean;
}

let resolvedWorkers: Partial<Record<WorkerName, WorkerScript>> = {};

/** Set once by the harness after bundling (bench/lib/bundle.ts); until then the sources run under tsx. */
export function useWorkerScripts(scripts: Partial<Record<WorkerName, WorkerScript>>): void {
  resolvedWorkers = { ...scripts };
}

export function workerScript(name: WorkerName): WorkerScript {
  return resolvedWorkers[name] ?? { file: WORKER_SOURCES[name], plain: false };
}

export interface BenchContext {
  quick: boolean;
  server: BenchServer;
  /** The fake model process (its own process: the SDK call is the biggest CPU cost). */
  model: Child;
  modelUrl: string;
  log(message: string): void;
}

/** What each metric returns: its fields in results.json, plus details for the curious. */
export interface MetricResult<T> {
  value: T;
  details?: Record<string, unknown>;
  notes?: string[];
}
