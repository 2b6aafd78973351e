import { expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/ownership-instance.ts');

/**
 * Short intervals for tests. The leases are not what most tests measure, and a loaded 2-core box
 * (other suites, child processes) can stall an event loop for a second: 250 + 2000 < 4000 keeps
 * ownership steady there. The lease tests use tighter values of their own.
 */
export const FAST_OWNERSHIP = {
  shards: 16,
  heartbeatIntervalMs: 250,
  clientLeaseMs: 2000,
  serverLeaseMs: 4000,
  sweepIntervalMs: 200,
  reconcileIntervalMs: 1000,
  restartBackoffMs: 50,
  restartBackoffMaxMs: 400,
  handoffTimeoutMs: 3000,
};

/** For the partition tests: the client lease runs out well before the server lease (margin 2.75 s). */
export const LEASE_OWNERSHIP = {
  ...FAST_OWNERSHIP,
  heartbeatIntervalMs: 250,
  clientLeaseMs: 1000,
  serverLeaseMs: 4000,
};

export const ACTIVITY_TABLE_SQL = `
create table if not exists test_activity (
  id bigserial primary key,
  agent_id text not null,
  epoch bigint not null,
  instance_id text not null,
  n int not null,
  at timestamptz not null
)`;

export interface ActivityRow {
  agent_id: string;
  epoch: string;
  instance_id: string;
  at: Date;
}

/**
 * The no-overlap check over (agent, epoch, instance, time) rows: per agent, in time order, an
 * epoch never comes back after a later one started, and each epoch belongs to one instance. So the
 * intervals [first, last write] of successive owners are disjoint and ordered.
 */
export function findOverlaps(rows: ActivityRow[]): string[] {
  const problems: string[] = [];
  const byAgent = new Map<string, ActivityRow[]>();
  for (const r of rows) byAgent.set(r.agent_id, [...(byAgent.get(r.agent_id) ?? []), r]);
  for (const [agent, list] of byAgent) {
    list.sort((a, b) => a.at.getTime() - b.at.getTime());
    const instanceOf = new Map<string, string>();
    const finished = new Set<string>();
    let current: string | null = null;
    for (const r of list) {
      const owner = instanceOf.get(r.epoch);
      if (owner && owner !== r.instance_id)
        problems.push(`${agent}: epoch ${r.epoch} written by ${owner} and ${r.instance_id}`);
      instanceOf.set(r.epoch, r.instance_id);
      if (current !== r.epoch) {
        if (finished.has(r.epoch))
          problems.push(`${agent}: epoch ${r.epoch} wrote again after a later owner at ${r.at.toISOString()}`);
        if (current !== null) {
          if (BigInt(r.epoch) < BigInt(current)) problems.push(`${agent}: epoch ${r.epoch} after ${current}`);
          finished.add(current);
        }
        current = r.epoch;
      }
    }
  }
  return problems;
}

/** Per shard, acquisitions in time order: each interval ends before the next one starts. */
export async function findLogOverlaps(db: { query: (t: string) => Promise<any[]> }): Promise<string[]> {
  const rows = await db.query(
    `select shard, epoch, instance_id, acquired_at, released_at from agentpg_long_running_ownership_log order by shard, acquired_at`,
  );
  const problems: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1];
    const cur = rows[i];
    if (prev.shard !== cur.shard) continue;
    if (Number(cur.epoch) <= Number(prev.epoch))
      problems.push(`shard ${cur.shard}: epoch ${cur.epoch} after ${prev.epoch}`);
    if (prev.released_at === null)
      problems.push(`shard ${cur.shard}: epoch ${prev.epoch} never closed before epoch ${cur.epoch}`);
    else if (prev.released_at > cur.acquired_at)
      problems.push(`shard ${cur.shard}: epoch ${prev.epoch} released after epoch ${cur.epoch} acquired`);
  }
  return problems;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await sleep(everyMs);
  }
}

export interface ChildEvent {
  ev: string;
  [k: string]: any;
}

/** One fixture process (test/fixtures/ownership-instance.ts): its events from stdout lines "@@ {json}". */
export class Instance {
  readonly events: ChildEvent[] = [];
  readonly stderr: string[] = [];
  exited: Promise<number | null>;
  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('@@ ')) this.events.push(JSON.parse(line.slice(3)));
      }
    });
    child.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }

  static async spawn(opts: {
    id: string;
    databaseUrl: string;
    ownership?: object;
    writeIntervalMs?: number;
    netns?: string;
  }): Promise<Instance> {
    const argv = [process.execPath, '--import', 'tsx', FIXTURE];
    // `ip netns exec` execs the command in the namespace: the child's pid is node's.
    const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
    const child = spawn(cmd, args, {
      env: {
        ...process.env,
        OWN_DATABASE_URL: opts.databaseUrl,
        OWN_INSTANCE_ID: opts.id,
        OWN_OPTIONS: JSON.stringify(opts.ownership ?? FAST_OWNERSHIP),
        OWN_WRITE_INTERVAL_MS: String(opts.writeIntervalMs ?? 50),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const inst = new Instance(opts.id, child);
    await waitFor(
      `instance ${opts.id} ready (stderr: ${inst.stderr.join('').slice(-2000)})`,
      () => inst.has('ready') || inst.exitedEarly(),
      60_000,
    );
    if (!inst.has('ready')) throw new Error(`instance ${opts.id} exited: ${inst.stderr.join('').slice(-3000)}`);
    return inst;
  }

  private exitedEarly(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  has(ev: string, pred: (e: ChildEvent) => boolean = () => true): boolean {
    return this.events.some((e) => e.ev === ev && pred(e));
  }

  /** Sends a command line to the fixture (stdin): "stop" = graceful client.stop(). */
  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** A plain client for test assertions that need a session of their own. */
export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** When a test failed, prints what the instances logged (warnings, errors, losses). */
export function dumpOnFailure(
  ctx: { task: { result?: { state?: string } } },
  instances: Array<Instance | undefined>,
): void {
  if (ctx.task.result?.state !== 'fail') return;
  for (const i of instances) {
    if (!i) continue;
    const lines = i.events.filter(
      (e) => e.ev === 'log' || e.ev === 'error' || (e.ev === 'aborted' && e.reason !== 'shutdown'),
    );
    console.log(
      `[ownership] instance ${i.id}: ${lines.length} log/error/abort events\n${lines
        .slice(-40)
        .map((e) => JSON.stringify(e))
        .join('\n')}`,
    );
  }
}

/** An agent as `select id, owner_instance_id, epoch from agentpg_long_running_agents` reads it. */
export interface OwnedAgent {
  id: string;
  epoch: number | string;
}

/**
 * After `from` was cut off at `cutAt`: waits until it aborted the handlers of `agents` as lost and
 * `to` writes them under a newer epoch, and returns when each happened (from their own events).
 */
export async function awaitTakeover(
  from: Instance,
  to: Instance,
  agents: OwnedAgent[],
  timeouts: { giveUpMs: number; takeOverMs: number },
): Promise<{ gaveUpAt: number; tookOverAt: number }> {
  await waitFor(
    'the cut-off owner aborted its handlers',
    () => agents.every((a) => from.has('aborted', (e) => e.agent === a.id && e.reason === 'lost')),
    timeouts.giveUpMs,
  );
  await waitFor(
    'the new owner writing the agents',
    () => agents.every((a) => to.has('write', (e) => e.agent === a.id && e.ok && e.epoch > Number(a.epoch))),
    timeouts.takeOverMs,
  );
  const gaveUpAt = Math.max(...from.events.filter((e) => e.ev === 'aborted' && e.reason === 'lost').map((e) => e.t));
  const tookOverAt = Math.min(
    ...to.events
      .filter((e) => e.ev === 'started' && agents.some((a) => a.id === e.agent && e.epoch > Number(a.epoch)))
      .map((e) => e.t),
  );
  return { gaveUpAt, tookOverAt };
}

/** The writes `owner` fired under its old epochs of `agents` and has no answer for yet, and the lookup of an answer. */
export function unansweredWrites(owner: Instance, agents: OwnedAgent[]) {
  const outcome = (f: ChildEvent) =>
    owner.events.find((e) => e.ev === 'write' && e.agent === f.agent && e.epoch === f.epoch && e.n === f.n);
  const queued = owner.events.filter(
    (e) => e.ev === 'fire' && agents.some((a) => a.id === e.agent && Number(a.epoch) === e.epoch) && !outcome(e),
  );
  return { outcome, queued };
}

/**
 * The outcome of the writes an owner had queued during a cut, once answered: every one that
 * committed did so before the heal; at least one was rejected by the fence; the others were lost
 * with their connection. Returns the counts for the test's log line.
 */
export async function expectQueuedWritesFenced(
  results: ChildEvent[],
  healedAt: number,
  query: (text: string, params?: unknown[]) => Promise<any[]>,
): Promise<{ fenced: number; committed: number }> {
  for (const r of results.filter((x) => x.ok)) {
    const [row] = await query(`select at from test_activity where agent_id = $1 and epoch = $2 and n = $3`, [
      r.agent,
      r.epoch,
      r.n,
    ]);
    expect(row.at.getTime()).toBeLessThan(healedAt);
  }
  const fenced = results.filter((r) => r.stale).length;
  expect(fenced).toBeGreaterThan(0);
  for (const r of results.filter((x) => !x.ok && !x.stale))
    expect(r.message).toMatch(/terminat|Connection|timeout|ECONNRESET|EPIPE/i);
  return { fenced, committed: results.filter((x) => x.ok).length };
}

/** The counter agents' world: the activity table, 16 shards and `agents` counter agents c-01, c-02, … */
export async function seedCounterAgents(
  query: (text: string, params?: unknown[]) => Promise<any[]>,
  agents: number,
): Promise<void> {
  await query(ACTIVITY_TABLE_SQL);
  await query(`insert into agentpg_long_running_shards (id) select generate_series(0, 15)`);
  await query(
    `insert into agentpg_long_running_agents (id, kind) select 'c-' || lpad(g::text, 2, '0'), 'counter' from generate_series(1, $1) g`,
    [agents],
  );
}

/**
 * The partition scenario of the proxy and the netns tests. `p` owns `onP` and writes; `link` cuts
 * it off from Postgres: it must give up (client lease) strictly before `q` takes over (server
 * lease), and its writes still unanswered at the heal (queued by the cut) must, once answered, all
 * be fenced off. Returns when each happened, and the outcome counts, for the test's log and checks.
 */
export async function cutAndHeal(
  p: Instance,
  q: Instance,
  onP: OwnedAgent[],
  link: { cut(): void; heal(): void },
  opts: {
    giveUpMs: number;
    takeOverMs: number;
    answeredMs: number;
    query: (text: string, params?: unknown[]) => Promise<any[]>;
  },
) {
  const cutAt = Date.now();
  link.cut();
  const { gaveUpAt, tookOverAt } = await awaitTakeover(p, q, onP, opts);
  // heartbeat + client lease < server lease: the old owner stopped strictly before the new one started.
  expect(gaveUpAt).toBeLessThan(tookOverAt);

  // The writes of P's (old) ownerships still unanswered now: in flight when the cut began, or
  // issued during it. Nothing crosses the cut, so they reach the server after the heal.
  const { outcome, queued } = unansweredWrites(p, onP);
  expect(queued.length).toBeGreaterThan(0);
  const healedAt = Date.now();
  link.heal();
  // Every one of them comes back ...
  await waitFor('queued writes answered', () => queued.every((f) => outcome(f)), opts.answeredMs).catch((err) => {
    const missing = queued.filter((f) => !outcome(f));
    throw new Error(
      `${err.message}: ${missing.length}/${queued.length} unanswered; P exit ${p.child.exitCode}; stderr ${p.stderr.join('').slice(0, 2000)}`,
    );
  });
  // ... and every one that reached the server after the heal was rejected by the fence. (One
  // that the server had committed just before the cut, its reply held back, comes back ok: its
  // row must predate the heal, and the tests' overlap checks cover it.) The others never reached a
  // commit: their connection was ended by the server while the cut held their transaction open
  // (idle_in_transaction_session_timeout of ctx.fenced).
  const { fenced, committed } = await expectQueuedWritesFenced(
    queued.map((f) => outcome(f)!),
    healedAt,
    opts.query,
  );
  return { cutAt, gaveUpAt, tookOverAt, queued: queued.length, fenced, committed };
}
