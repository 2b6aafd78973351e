// The benchmark's command line: which metrics exist, which run only when named, and where the
// report is written.
import path from 'node:path';
import { BENCH_DIR } from './context.js';
import { SOAK_ROWS_DEFAULT } from '../metrics/soak.js';

export const METRICS = [
  'throughput',
  'enqueue_to_start',
  'event_latency',
  'resume_after_decision',
  'waiting_runs',
  'enqueue_in_tx',
  'concurrency',
  'failover_sigkill',
  'failover_partition',
  'rss',
  'ownership_scale',
  'cache_read_share',
  'session_scaling',
  'child_run_start',
  'failover_runs_sigkill',
  'rate_limited',
  'batch_mode',
  'routing',
  'instance_footprint',
  // Only with --only (OPT_IN): the soak, and Citus (clusters of its own, bench/results/citus.json).
  'soak',
  'citus',
] as const;
export type MetricName = (typeof METRICS)[number];
/**
 * Run only when named in --only: the soak loads a million runs (minutes, gigabytes); citus starts
 * clusters of its own.
 */
export const OPT_IN: readonly MetricName[] = ['soak', 'citus'];

export function parseArgs(argv: string[]) {
  const args = {
    quick: false,
    only: null as Set<MetricName> | null,
    databaseUrl: null as string | null,
    out: path.join(BENCH_DIR, 'results/latest.json'),
    outGiven: false,
    soakRows: SOAK_ROWS_DEFAULT,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names)
        if (!METRICS.includes(n as MetricName)) throw new Error(`unknown metric "${n}"; known: ${METRICS.join(', ')}`);
      args.only = new Set(names as MetricName[]);
    } else if (a === '--database-url') args.databaseUrl = argv[++i] ?? null;
    else if (a === '--out') {
      args.out = path.resolve(argv[++i] ?? args.out);
      args.outGiven = true;
    } else if (a === '--soak-rows') {
      args.soakRows = Number(argv[++i]);
      if (!Number.isInteger(args.soakRows) || args.soakRows < 1000)
        throw new Error('--soak-rows must be an integer >= 1000');
    } else if (a === '--help' || a === '-h') {
      console.log(
        `usage: npm run bench -- [--quick] [--only ${METRICS.join(',')}] [--database-url URL] [--out FILE] [--soak-rows N] (soak runs only when named)`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  // A subset (--only) writes a report of its own: latest.json keeps the last run of every metric
  // rather than being overwritten by one whose other rows are all n/a.
  if (args.only && !args.outGiven) args.out = path.join(BENCH_DIR, 'results/latest-only.json');
  return args;
}
