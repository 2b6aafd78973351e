import { describe, expect, it } from 'vitest';
import { routeKeyOf } from '../../src/runs/routing.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import { instanceProcesses, spawnInstance, type InstanceProcess } from '../fixtures/cluster-spawn.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';
import { instanceAgentLinks, recordJobTransitions } from '../runs/helpers.js';

// Capability routing across real processes (issue 13's acceptance; the one-process variant is
// test/runs/routing.test.ts). Three instance processes on one database:
//   rt-a: agents `echo` (tool `clock`) and `plain`, tool `clock`: the only one capable of `echo`;
//   rt-b: agents `echo` and `plain`, no tools: has `echo` but not its tool `clock`;
//   rt-c: agent `plain` only.
// Every instance's backstop poll is 10 minutes: a run that needed the poll to start would not
// start within this test's time, so every start here came from a wake (a NOTIFY, a run ending).
const POLL_MS = 600_000;
const ECHO_RUNS = 200;
const PLAIN_RUNS = 40;

let db: TestDatabase;
let fake: FakeAnthropic;
const procs = instanceProcesses();
let a: InstanceProcess;
let b: InstanceProcess;
let c: InstanceProcess;

const spawn = async (id: string, env: Record<string, string>) => {
  const p = await spawnInstance({
    AGENTPG_DATABASE_URL: db.url,
    AGENTPG_INSTANCE_ID: id,
    AGENTPG_FAKE_URL: fake.url,
    AGENTPG_RUN_POLL_MS: String(POLL_MS),
    // Cleanup passes stay out of the way (nothing here needs one; they would only add noise).
    AGENTPG_CLEANUP_MS: String(POLL_MS),
    AGENTPG_TTL_MS: String(POLL_MS),
    ...env,
  });
  procs.push(p);
  return p;
};

interface Fetches {
  runsFetched: number;
  foreignRunsFetched: number;
}
const fetchesOf = async (p: InstanceProcess): Promise<Fetches> => {
  const { health } = await p.command('health');
  return { runsFetched: health.runsFetched, foreignRunsFetched: health.foreignRunsFetched };
};

test.beforeAll(async ({ db: testDb, fake: testFake }) => {
  db = testDb;
  fake = testFake;
  [a, b, c] = await Promise.all([
    spawn('rt-a', { AGENTPG_AGENTS: 'echo,plain' }),
    spawn('rt-b', { AGENTPG_AGENTS: 'echo,plain', AGENTPG_NO_TOOLS: '1' }),
    spawn('rt-c', { AGENTPG_AGENTS: 'plain' }),
  ]);
  await recordJobTransitions(db);
}, 120_000);

describe('capability routing across three instance processes', () => {
  it('links each instance only to the agents it can run', async () => {
    expect(await instanceAgentLinks(db)).toEqual([
      { instance_id: 'rt-a', agents: ['echo', 'plain'] },
      { instance_id: 'rt-b', agents: ['plain'] },
      { instance_id: 'rt-c', agents: ['plain'] },
    ]);
    // Two agents with one route key would share a fetch (routing.ts): not these two.
    expect(routeKeyOf('echo')).not.toBe(routeKeyOf('plain'));
  });

  it(`runs ${ECHO_RUNS} runs of an agent on the one capable instance; no other instance fetches one; none waits for a poll`, async () => {
    const before = await Promise.all([a, b, c].map(fetchesOf));
    // Enqueued where they cannot run: most by rt-b (the agent without its tool: its own worker is
    // not woken, only the NOTIFY reaches rt-a), the rest in plain SQL from this process. Runs of
    // `plain`, which all three can run, in between, so that rt-b's and rt-c's workers fetch (and
    // are woken by runs ending) all the while.
    const sqlEcho = 50;
    const sessions = await db.query<{ id: string }>(
      `insert into agentpg_sessions (tenant_id, identifier)
         select 't1', 'sql-' || g from generate_series(1, $1) g returning id`,
      [sqlEcho],
    );
    const [fromB, fromSql, fromC] = await Promise.all([
      b.command('enqueueMany', { agent: 'echo', count: ECHO_RUNS - sqlEcho }, 60_000),
      Promise.all(
        sessions.map(
          async (s) =>
            (await db.query<{ id: string }>(`select agentpg_enqueue_run($1, 'echo', 'from sql') as id`, [s.id]))[0].id,
        ),
      ),
      c.command('enqueueMany', { agent: 'plain', count: PLAIN_RUNS }, 60_000),
    ]);
    expect(fromB.error).toBeUndefined();
    expect(fromC.error).toBeUndefined();
    const echoIds: string[] = [...fromB.runIds, ...fromSql];
    const plainIds: string[] = fromC.runIds;
    expect(echoIds).toHaveLength(ECHO_RUNS);

    // Far inside the 10-minute poll: only wakes can have started them. A job fetched and handed
    // back by an instance that cannot run it waits for that poll, so it shows here first.
    const all = [...echoIds, ...plainIds];
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from agentpg_runs where id = any($1::uuid[]) and state in ('completed', 'failed', 'cancelled')`,
            [all],
          )
        )[0].n === all.length,
      120_000,
      100,
    ).catch(async (err: Error) => {
      const now = await Promise.all([a, b, c].map(fetchesOf));
      throw new Error(`${err.message}; fetches (rt-a, rt-b, rt-c): ${JSON.stringify(now)}`, { cause: err });
    });

    const echo = await db.query(
      `select state, instance_id, attempts, extract(epoch from (started_at - created_at)) * 1000 as start_ms
         from agentpg_runs where id = any($1::uuid[])`,
      [echoIds],
    );
    expect(new Set(echo.map((r) => `${r.state} on ${r.instance_id}, attempt ${r.attempts}`))).toEqual(
      new Set(['completed on rt-a, attempt 1']),
    );
    const plain = await db.query(`select state from agentpg_runs where id = any($1::uuid[])`, [plainIds]);
    expect(new Set(plain.map((r) => r.state))).toEqual(new Set(['completed']));

    // The database's count: each echo job was made active exactly once, and never handed back. A
    // fetch by rt-b or rt-c would show as a second activation followed by a retry; the one
    // activation was rt-a's, since its claim (instance_id rt-a, attempt 1) commits with the fetch.
    const [jobs] = await db.query(
      `select count(*)::int as activations, count(distinct job_id)::int as jobs,
              count(*) filter (where state = 'retry')::int as handbacks,
              count(*) filter (where priority <> $2)::int as wrong_key
         from test_job_transitions where run_id = any($1::uuid[])`,
      [echoIds, routeKeyOf('echo')],
    );
    expect(jobs).toEqual({ activations: ECHO_RUNS, jobs: ECHO_RUNS, handbacks: 0, wrong_key: 0 });

    // The instances' own count (health): no instance fetched a job it could not run, and the
    // fetches of all three add up to exactly one per job (a job fetched twice would add one).
    const after = await Promise.all([a, b, c].map(fetchesOf));
    const delta = after.map((x, i) => ({
      runsFetched: x.runsFetched - before[i].runsFetched,
      foreignRunsFetched: x.foreignRunsFetched - before[i].foreignRunsFetched,
    }));
    console.log(`[routing] fetches since the enqueue (rt-a, rt-b, rt-c): ${JSON.stringify(delta)}`);
    expect(delta.map((d) => d.foreignRunsFetched)).toEqual([0, 0, 0]);
    expect(delta.reduce((s, d) => s + d.runsFetched, 0)).toBe(ECHO_RUNS + PLAIN_RUNS);
    // rt-a fetched every echo job (and maybe some plain ones); rt-b and rt-c only plain ones.
    expect(delta[0].runsFetched).toBeGreaterThanOrEqual(ECHO_RUNS);
    expect(delta[1].runsFetched + delta[2].runsFetched).toBeLessThanOrEqual(PLAIN_RUNS);

    // Informative: enqueue → claim from the runs' own timestamps (200 runs enqueued in a burst onto
    // runConcurrency 100, so most of it is waiting for a free slot, not for a poll).
    const ms = echo.map((r) => Number(r.start_ms)).sort((x, y) => x - y);
    const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]);
    console.log(`[routing] created → started of the ${ECHO_RUNS} runs: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
    // The bound separates a wake from the poll by a factor of 10 at least, whatever the load.
    expect(ms[ms.length - 1]).toBeLessThan(POLL_MS / 10);
  }, 180_000);
});
