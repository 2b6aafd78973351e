/**
 * `npm run chaos [-- --duration 60] [--rate 8] [--instances 3]`
 *
 * Fault scenarios against a cluster of agentpg instance processes under steady run load, on an
 * embedded PostgreSQL this command starts (and may therefore restart), then invariants checked
 * from the database. Prints `violations: N` last and exits 1 on any violation.
 *
 *   1. kill      a random instance SIGKILLed every 2 s for --duration seconds (replaced at once)
 *   2. locks     every lock session terminated with pg_terminate_backend, three times
 *   3. partition the instance running the most long-running agents cut off by its TCP proxy for
 *                12 s (sockets left open), then healed: its queued writes arrive late
 *   4. stop      the instance executing the most runs SIGSTOPped for 12 s (past its server lease),
 *                then SIGCONTed: survivors take its runs and agents over; its late writes are refused
 *   5. restart   PostgreSQL itself stopped and started again (fast shutdown) under load
 *
 * Load: a separate instance (never killed) enqueues --rate runs/s over 40 sessions, every other
 * run calling the `record` tool, whose every execution is logged in its own table; long-running
 * agents write through ctx.fenced() every 250 ms into an audited table.
 */
import { Child, killAllChildren, onShutdown, wallClock } from '../bench/lib/child.js';
import { InstanceCluster } from '../bench/lib/cluster.js';
import { WORKER_SOURCES, useWorkerScripts, workerScript } from '../bench/lib/context.js';
import { bundleWorkers } from '../bench/lib/bundle.js';
import {
  createBenchDatabase,
  sleep,
  startOwnServer,
  type BenchDatabase,
  type BenchServer,
} from '../bench/lib/database.js';
import { intervalsFromEvents } from '../bench/lib/overlap.js';
import type { InstanceWorkerConfig } from '../bench/workers/instance.js';
import { AUDIT_SQL, checkInvariants } from './audit.js';
import { cutAtFreezes, type Freeze } from './freeze.js';

const LR_KIND = 'chaos-lr';
let releaseResources: () => Promise<void> = async () => {};

function parseArgs(argv: string[]) {
  const a = { duration: 60, rate: 8, instances: 3, longRunning: 12 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
      return v;
    };
    if (flag === '--duration') a.duration = num();
    else if (flag === '--rate') a.rate = num();
    else if (flag === '--instances') a.instances = Math.max(2, Math.floor(num()));
    else if (flag === '--long-running') a.longRunning = Math.floor(num());
    else if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: npm run chaos -- [--duration SECONDS] [--rate RUNS_PER_S] [--instances N] [--long-running N]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${flag}`);
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (m: string) =>
    console.log(
      `[chaos +${((Date.now() - started) / 1000).toFixed(1)}s ${new Date().toISOString().slice(11, 23)}] ${m}`,
    );

  log('starting an embedded PostgreSQL (owned by this run: it will be restarted)');
  const server: BenchServer = await startOwnServer();
  let db: BenchDatabase | null = null;
  // Also run when the suite itself fails (see the end of this file): no server or data left behind.
  releaseResources = async () => {
    killAllChildren();
    await db?.drop().catch(() => {});
    db = null;
    await server.close();
  };
  onShutdown(releaseResources);
  db = await createBenchDatabase(server.url, 'agentpg_chaos');
  await db.query(AUDIT_SQL);
  const bundled = await bundleWorkers(WORKER_SOURCES);
  useWorkerScripts(bundled.workers);
  if (bundled.note) log(bundled.note);

  const model = new Child(workerScript('fakeModel'), {
    label: 'fake-model',
    env: { FAKE_MODE: 'tool', FAKE_LATENCY_MS: '200' },
    keepMessages: false,
  });
  const modelUrl = String((await model.waitFor((m) => m.type === 'ready', 60_000, 'fake model')).url);

  // Short cluster intervals so a dead instance's runs are handed back within seconds.
  const common = (databaseUrl: string): Omit<InstanceWorkerConfig, 'instanceId'> => ({
    databaseUrl,
    modelUrl,
    agents: true,
    recordTool: true,
    cluster: { heartbeatIntervalMs: 1000, instanceTtlMs: 4000, cleanupIntervalMs: 2000, shutdownTimeoutMs: 5000 },
  });
  const cluster = new InstanceCluster(
    'chaos',
    () => ({ ...common(db!.url), longRunning: { kind: LR_KIND, report: 'events', fencedEveryMs: 250 } }),
    {
      proxied: true,
    },
  );
  const runIdSet = new Set<string>();
  let loadgen: Child | null = null;
  let loadgenSeq = 0;
  const loadCrashes: Array<{ instanceId: string; exit: string; lastOutput: string }> = [];
  let loadRunning = false;
  const startLoadgen = async () => {
    const instanceId = `chaos-load-${++loadgenSeq}`;
    const child = new Child(workerScript('instance'), {
      label: instanceId,
      env: { BENCH_WORKER: JSON.stringify({ ...common(db!.url), instanceId }) },
    });
    loadgen = child;
    child.on((m) => {
      if (m.type === 'enq') runIdSet.add(String(m.runId));
    });
    void child.wait().then(() => {
      if (!loadRunning || child !== loadgen) return;
      const lines = child.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('{') && !/^\s+at /.test(l) && l.trim() !== '');
      loadCrashes.push({
        instanceId,
        exit: String(child.exitCode ?? child.signal),
        lastOutput: lines.slice(-12).join('\n'),
      });
      note(`load generator ${instanceId} CRASHED (${child.exitCode ?? child.signal}); starting another`);
      void startLoadgen()
        .then(() => loadgen!.request({ type: 'loadStart', rate: args.rate, sessions: 40, agent: 'chaos' }))
        .catch((err) => note(`load generator restart failed: ${(err as Error).message.split('\n')[0]}`));
    });
    await child.waitFor((m) => m.type === 'ready', 90_000, 'load generator');
  };
  cluster.onCrash = (id) => {
    note(`instance ${id} CRASHED; starting a replacement`);
    void cluster.spawn(1).catch((err) => note(`respawn failed: ${(err as Error).message.split('\n')[0]}`));
  };
  const scenarioLog: string[] = [];
  const note = (m: string) => {
    scenarioLog.push(m);
    log(m);
  };
  let runIds: string[];
  let enqueueErrors: number;
  let lastEnqueueError: string;
  const lrIds = Array.from({ length: args.longRunning }, (_, i) => `chaos-agent-${i + 1}`);
  let unownedAtEnd: string[];
  const freezes: Freeze[] = [];

  try {
    const [first] = await cluster.spawn(args.instances);
    await startLoadgen();
    await first.request({ type: 'lrStart', ids: lrIds, kind: LR_KIND });
    loadRunning = true;
    await loadgen!.request({ type: 'loadStart', rate: args.rate, sessions: 40, agent: 'chaos' });
    note(`${args.instances} instances + load generator up; ${args.rate} runs/s, ${lrIds.length} long-running agents`);
    await sleep(3000);

    // 1. SIGKILL a random instance every 2 s.
    const killEnd = Date.now() + args.duration * 1000;
    let kills = 0;
    const spawns: Promise<unknown>[] = [];
    while (Date.now() < killEnd) {
      const ready = cluster.alive().filter((c) => c.messages.some((m) => m.type === 'ready'));
      if (ready.length >= 2) {
        const victim = ready[Math.floor(Math.random() * ready.length)];
        cluster.kill(victim.label, wallClock());
        kills++;
        spawns.push(cluster.spawn(1).catch((err) => note(`respawn failed: ${(err as Error).message.split('\n')[0]}`)));
      }
      await sleep(2000);
    }
    await Promise.all(spawns);
    note(`kill: ${kills} instances SIGKILLed over ${args.duration} s`);
    await sleep(5000);

    // 2. Terminate every lock session, three times.
    for (let i = 0; i < 3; i++) {
      const rows = await db.query<{ n: string }>(
        `select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity
         where datname = current_database() and application_name like 'agentpg-lock:%'`,
      );
      note(`locks: terminated ${rows[0].n} lock sessions`);
      await sleep(4000);
    }

    // 3. Partition the busiest owner for 12 s, then heal.
    const owners = new Map<string, number>();
    for (const id of lrIds) {
      const o = cluster.runningOwner(id);
      if (o) owners.set(o, (owners.get(o) ?? 0) + 1);
    }
    const [target] = [...owners.entries()].sort((a, b) => b[1] - a[1])[0] ?? [cluster.alive()[0]?.label];
    if (target && cluster.proxies.get(target)) {
      cluster.proxies.get(target)!.freeze();
      note(`partition: ${target} (running ${owners.get(target) ?? 0} long-running agents) cut off`);
      await sleep(12_000);
      cluster.proxies.get(target)!.thaw();
      note(`partition: healed`);
      await sleep(5000);
    }

    // 4. SIGSTOP the instance executing the most runs for 12 s (its server lease is 8 s), then SIGCONT.
    await stopScenario(db, cluster, freezes, note);

    // 5. Restart PostgreSQL under load.
    note('restart: stopping PostgreSQL');
    await server.stopServer();
    await sleep(2000);
    await server.startServer();
    note('restart: PostgreSQL is back');
    await sleep(5000);

    loadRunning = false;
    const load = await loadgen!.request({ type: 'loadStop' }, 60_000).catch((err) => {
      note(`load generator did not answer: ${(err as Error).message.split('\n')[0]}`);
      return { errors: 0, lastError: '' };
    });
    runIds = [...runIdSet];
    enqueueErrors = Number(load.errors ?? 0);
    lastEnqueueError = typeof load.lastError === 'string' ? load.lastError : '';
    note(
      `load stopped: ${runIds.length} runs enqueued, ${enqueueErrors} enqueue calls failed${enqueueErrors ? ` (last: ${lastEnqueueError})` : ''}`,
    );

    // Drain: every run finished, every long-running agent running again.
    const drainDeadline = Date.now() + 180_000;
    for (;;) {
      const [{ n }] = await db.query<{ n: string }>(
        `select count(*) as n from agentpg_runs where state not in ('completed', 'failed', 'cancelled')`,
      );
      const unowned = lrIds.filter((id) => !cluster.runningOwner(id)).length;
      if ((Number(n) === 0 && unowned === 0) || Date.now() > drainDeadline) {
        note(`drain: ${n} runs not terminal, ${unowned} long-running agents without a running handler`);
        break;
      }
      await sleep(1000);
    }
    // Owned in the table AND running a handler (reported by the process), before anyone stops.
    const owned = await db.query<{ id: string }>(
      `select id from agentpg_long_running_agents where id = any($1::text[]) and owner_instance_id is not null`,
      [lrIds],
    );
    const ownedIds = new Set(owned.map((r) => r.id));
    unownedAtEnd = lrIds.filter((id) => !ownedIds.has(id) || !cluster.runningOwner(id));
  } finally {
    loadRunning = false;
    const lg = loadgen as Child | null;
    await lg?.request({ type: 'stop' }, 30_000).catch(() => lg.kill());
    await cluster.stopAll();
    await model.stop().catch(() => {});
  }

  const { intervals, lateTails } = cutAtFreezes(
    intervalsFromEvents(
      cluster.events.map((e) => ({ type: e.type, agentId: e.agentId, owner: e.owner, epoch: e.epoch, t: e.t })),
      cluster.killedAt,
    ),
    freezes,
  );
  if (freezes.length > 0) {
    const longest = Math.max(0, ...lateTails.map((t) => (t.end ?? wallClock()) - t.start));
    note(
      `stop: ${lateTails.length} handlers ran on after SIGCONT until they saw their lease lost (longest ${Math.round(longest)} ms; their fenced writes are checked below)`,
    );
  }
  const { checks, info } = await checkInvariants(db.pool, {
    enqueuedRunIds: runIds,
    handlerIntervals: intervals,
    longRunningIds: lrIds,
    unownedAtEnd,
  });
  // An agentpg process that dies on its own (an unhandled error) is a reliability defect too.
  const crashes = [...cluster.crashes, ...loadCrashes];
  checks.push({
    name: 'no instance process crashed',
    violations: crashes.length,
    detail: `${crashes.length} instance processes exited on their own`,
    examples: crashes.slice(0, 3).map((c) => ({
      instance: c.instanceId,
      exit: c.exit,
      output: c.lastOutput
        .split('\n')
        .filter((l) => /error/i.test(l))
        .slice(0, 3)
        .join(' | '),
    })),
  });
  await releaseResources();

  console.log('');
  for (const [k, v] of Object.entries(info))
    console.log(`${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : JSON.stringify(v)}`);
  console.log('');
  let violations = 0;
  for (const c of checks) {
    violations += c.violations;
    console.log(`${c.violations === 0 ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (c.violations > 0 && c.examples?.length) console.log(`     e.g. ${JSON.stringify(c.examples.slice(0, 3))}`);
  }
  console.log(`violations: ${violations}`);
  return violations;
}

/**
 * Scenario 4: the instance executing the most runs (any live one if none executes) is frozen with
 * SIGSTOP for 12 s — past its liveness and ownership server lease (8 s), so survivors see its
 * locks gone and take its runs and long-running agents over — then SIGCONTed. What it still tries
 * is refused: its run writes by the runs' claim fence (health().runWritesRefused), its agents'
 * fenced writes by their epoch (the worker's stale-owner rejections). Both are noted.
 */
async function stopScenario(
  db: BenchDatabase,
  cluster: InstanceCluster,
  freezes: Freeze[],
  note: (m: string) => void,
): Promise<void> {
  const alive = cluster.alive().filter((c) => c.messages.some((m) => m.type === 'ready'));
  if (alive.length < 2) {
    note(`stop: skipped (${alive.length} ready instances)`);
    return;
  }
  const busy = await db.query<{ instance_id: string; n: string }>(
    `select instance_id, count(*) as n from agentpg_runs where state = 'running' and instance_id is not null
      group by instance_id order by 2 desc`,
  );
  const labels = new Set(alive.map((c) => c.label));
  const hit = busy.find((r) => labels.has(r.instance_id));
  const victim = hit ? cluster.children.get(hit.instance_id)! : alive[0];
  // Counters since the process started (it may have been the partition's victim too): noted as deltas.
  const [beforeHealth, before] = await Promise.all([
    victim.request({ type: 'health' }, 30_000),
    victim.request({ type: 'stats' }, 30_000),
  ]);
  const h0 = beforeHealth.health as { runsTakenOver: number; runWritesRefused: number };
  const stoppedAt = wallClock();
  victim.kill('SIGSTOP');
  note(`stop: ${victim.label} (executing ${hit?.n ?? 0} runs) SIGSTOPped`);
  await sleep(12_000);
  victim.kill('SIGCONT');
  freezes.push({ owner: victim.label, stoppedAt, continuedAt: wallClock() });
  await sleep(5000);
  const [health, after] = await Promise.all([
    victim.request({ type: 'health' }, 30_000),
    victim.request({ type: 'stats' }, 30_000),
  ]).catch((err) => {
    note(`stop: ${victim.label} did not answer after SIGCONT: ${(err as Error).message.split('\n')[0]}`);
    return [null, null];
  });
  if (health && after) {
    const h = health.health as { runsTakenOver: number; runWritesRefused: number; livenessHeld: boolean };
    note(
      `stop: SIGCONT; ${victim.label} gave up ${h.runsTakenOver - h0.runsTakenOver} executions, ${h.runWritesRefused - h0.runWritesRefused} of its late run writes refused by the claim fence, ${Number(after.staleRejections) - Number(before.staleRejections)} late fenced agent writes refused; liveness ${h.livenessHeld ? 'renewed' : 'not held'}`,
    );
  }
}

main().then(
  (violations) => process.exit(violations > 0 ? 1 : 0),
  async (err) => {
    console.error(`chaos: ${(err as Error).stack ?? err}`);
    await releaseResources().catch(() => {});
    console.log('violations: unknown (the suite itself failed)');
    process.exit(2);
  },
);
