/**
 * citus (`npm run bench -- --only citus`, never in the default run): runs/s and WAL per run of agentpg
 * on a Citus cluster (coordinator + 2 workers, the layout of src/db/citus/layout.ts) beside a
 * single PostgreSQL in the same run. Both sides are servers of this machine's PostgreSQL 15 with
 * default settings, started by the Citus build's start-cluster.sh in temporary folders (the
 * single node: a coordinator with no workers, nothing distributed), so binaries and settings match.
 *
 * The two sides run one after the other (see below why not side by side). Each side: one agentpg instance (bench/workers/instance.ts, 100 runs at a time) enqueues N
 * single-turn runs over N/5 sessions with 32 concurrent callers and works them, against the fake
 * model at zero latency. Rate = completed runs over first created → last finalized (the runs'
 * own timestamps). WAL = pg_current_wal_lsn() advance summed over every node of the side, from
 * before the first enqueue to after the instance stopped. The ratio is withheld when either side
 * ran too briefly (bench/lib/comparison.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { distributeOnCitus } from '../../src/db/citus/distribute.js';
import { migrate } from '../../src/db/migrate.js';
import { findCitusBuild, startLocalCitusCluster, type LocalCitusCluster } from '../../test/helpers/citusCluster.js';
import { Child } from '../lib/child.js';
import { judgeThroughput, longestGapMs, type SideRun } from '../lib/comparison.js';
import { BENCH_DIR, workerScript, type BenchContext, type MetricResult } from '../lib/context.js';
import { sleep } from '../lib/database.js';
import { lsnDiff } from '../lib/dbCost.js';
import { CountingClient } from '../lib/poll.js';
import { round } from '../lib/stats.js';

export interface CitusValue {
  nodes: number;
  runs_per_s: number | null;
  wal_bytes_per_run: number | null;
  single_node_runs_per_s: number | null;
  single_node_wal_bytes_per_run: number | null;
  /** Citus rate / single-node rate; null when a side ran too briefly. */
  ratio: number | null;
}

const ENQUEUE_CONCURRENCY = 32;
const RUN_CONCURRENCY = 100;

/** Every node's URL: the coordinator's, then the workers' from pg_dist_node. */
async function nodeUrls(coordinatorUrl: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: coordinatorUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ nodename: string; nodeport: number }>(
      `select nodename, nodeport from pg_dist_node where groupid <> 0 order by nodeport`,
    );
    const u = new URL(coordinatorUrl);
    return [coordinatorUrl, ...rows.map((r) => `postgres://${u.username}@${r.nodename}:${r.nodeport}${u.pathname}`)];
  } finally {
    await c.end();
  }
}

async function walLsns(urls: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const url of urls) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    out.push((await c.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn);
    await c.end();
  }
  return out;
}

interface SideResult {
  side: SideRun;
  completed: number;
  walBytes: number;
}

async function measureSide(ctx: BenchContext, label: string, url: string, n: number): Promise<SideResult> {
  const nodes = await nodeUrls(url);
  ctx.log(`citus: ${label}, ${n} single-turn runs on ${nodes.length} node(s)`);
  const worker = new Child(workerScript('instance'), {
    label,
    env: {
      BENCH_WORKER: JSON.stringify({
        databaseUrl: url,
        instanceId: `bench-${label}`,
        modelUrl: ctx.modelUrl,
        agents: true,
        runConcurrency: RUN_CONCURRENCY,
      }),
    },
  });
  await worker.waitFor((m) => m.type === 'ready', 120_000, `${label} instance ready`);
  const before = await walLsns(nodes);
  const poll = await new CountingClient(url).connect();
  await worker.request(
    {
      type: 'enqueueMany',
      agent: 'bench',
      count: n,
      sessions: Math.max(1, Math.floor(n / 5)),
      concurrency: ENQUEUE_CONCURRENCY,
      prompt: 'Say ok.',
    },
    900_000,
  );
  await poll.waitForCount(
    `select count(*) as n from agentpg_runs where agent_name = 'bench' and finalized_at is not null`,
    [],
    n,
    900_000,
    1000,
  );
  const [span] = await poll.query<{ span_s: number; completed: string; created_ms: number; finished_ms: number[] }>(
    `select extract(epoch from max(finalized_at) - min(created_at))::float8 as span_s,
            count(*) filter (where state = 'completed') as completed,
            extract(epoch from min(created_at))::float8 * 1000 as created_ms,
            array_agg(extract(epoch from finalized_at)::float8 * 1000) as finished_ms
       from agentpg_runs where agent_name = 'bench'`,
  );
  await poll.end();
  await worker.request({ type: 'stop' }, 60_000).catch(() => worker.kill());
  await worker.wait();
  await sleep(1500);
  const after = await walLsns(nodes);
  const walBytes = before.reduce((sum, lsn, i) => sum + lsnDiff(lsn, after[i]), 0);
  const completed = Number(span.completed);
  return {
    side: { label, jobs: completed, spanS: span.span_s, longestGapMs: longestGapMs(span.created_ms, span.finished_ms) },
    completed,
    walBytes,
  };
}

export async function measureCitus(ctx: BenchContext): Promise<MetricResult<CitusValue>> {
  const build = findCitusBuild();
  if (!build) throw new Error('no Citus build (set AGENTPG_CITUS_DIR to the folder with start-cluster.sh)');
  const n = ctx.quick ? 1000 : 3000;
  const workers = 2;
  const notes: string[] = [];
  let single: LocalCitusCluster | null = null;
  let citus: LocalCitusCluster | null = null;
  try {
    // One server set at a time: start-cluster.sh runs install.sh, which copies citus.so over the
    // file a running server of the same build has mapped, and that server crashes.
    ctx.log('citus: a single PostgreSQL 15 (no workers, nothing distributed)');
    single = await startLocalCitusCluster(build, 0);
    await migrate(single.url);
    const one = await measureSide(ctx, 'single-node', single.url, n);
    await single.stop();
    single = null;
    ctx.log(`citus: a Citus coordinator + ${workers} workers`);
    citus = await startLocalCitusCluster(build, workers);
    await migrate(citus.url);
    await distributeOnCitus(citus.url);
    const many = await measureSide(ctx, 'citus', citus.url, n);
    for (const s of [one, many])
      if (s.completed < n) notes.push(`${s.side.label}: ${n - s.completed} of ${n} runs did not complete`);
    const verdict = judgeThroughput(many.side, one.side);
    if (verdict.kind !== 'ok') notes.push(verdict.reason);
    const value: CitusValue = {
      nodes: workers + 1,
      runs_per_s: round(many.completed / many.side.spanS, 1),
      wal_bytes_per_run: round(many.walBytes / n, 0),
      single_node_runs_per_s: round(one.completed / one.side.spanS, 1),
      single_node_wal_bytes_per_run: round(one.walBytes / n, 0),
      ratio: round(verdict.ratio, 3),
    };
    const details = {
      runs: n,
      workers,
      citus_span_s: round(many.side.spanS, 2),
      single_node_span_s: round(one.side.spanS, 2),
      citus_longest_gap_ms: round(many.side.longestGapMs, 0),
      single_node_longest_gap_ms: round(one.side.longestGapMs, 0),
      check: verdict.kind,
    };
    const file = path.join(BENCH_DIR, 'results/citus.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({ ...value, details, notes, date: new Date().toISOString(), quick: ctx.quick }, null, 2) + '\n',
    );
    ctx.log(`citus: written ${path.relative(process.cwd(), file)}`);
    return { value, details, notes };
  } finally {
    await citus?.stop();
    await single?.stop();
  }
}
