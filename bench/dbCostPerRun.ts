/**
 * The database's cost of one run, for docs/scaling.md's capacity figures:
 * `npx tsx bench/dbCostPerRun.ts [--runs N] [--database-url URL]` (default: the local PostgreSQL at
 * 127.0.0.1:5432). In a database of its own it starts one agentpg instance (fake model, zero
 * latency), enqueues N single-turn runs over N/5 sessions with 32 concurrent callers, and waits
 * until every run is finalized. Reported per run: commits (pg_stat_database.xact_commit of the
 * database), WAL bytes (pg_current_wal_lsn advance: server-wide, so a shared server's other
 * writers inflate it) and backend CPU: user + system time (/proc) of every backend connected to
 * the database, read while they are alive (the instance keeps its pools open), so other databases'
 * work on a shared server is not counted. The server's background processes (WAL writer,
 * checkpointer) are not counted either; the WAL figure bounds their work.
 */
import pg from 'pg';
import { AgentPG, defineAgent } from '../src/index.js';
import { startFakeAnthropic } from '../src/testing/index.js';
import { cpuSeconds } from './lib/cpu.js';
import { createBenchDatabase, HARNESS_APP, sleep } from './lib/database.js';
import { lsnDiff } from './lib/dbCost.js';

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 3000);
const serverUrl = arg('--database-url') ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const db = await createBenchDatabase(serverUrl, 'agentpg_cost');
const fake = await startFakeAnthropic();
fake.setResponder(() => ({ text: 'ok', usage: { input_tokens: 10, output_tokens: 2 } }));
const admin = new pg.Client({ connectionString: serverUrl, application_name: HARNESS_APP });
await admin.connect();

/** Commits of the database, the WAL position, and CPU seconds of each backend on the database. */
async function snapshot() {
  await admin.query('select pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ commits: string; lsn: string; pids: number[] }>(
    `select (select xact_commit from pg_stat_database where datname = $1) as commits,
            pg_current_wal_lsn()::text as lsn,
            array(select pid from pg_stat_activity where datname = $1 and application_name <> $2) as pids`,
    [db.name, HARNESS_APP],
  );
  const cpu = new Map(rows[0].pids.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  return { commits: Number(rows[0].commits), lsn: rows[0].lsn, cpu };
}

const client = new AgentPG({
  databaseUrl: db.url,
  anthropic: { apiKey: 'sk-ant-bench', baseURL: fake.url },
  migrate: false,
  agents: [defineAgent({ name: 'bench', model: 'claude-fake-model', maxTokens: 16 })],
  runConcurrency: 100,
});
await client.start();
const agent = client.agent('bench');
const sessions: string[] = [];
for (let i = 0; i < Math.max(1, runs / 5); i++)
  sessions.push(await agent.newSession({ tenantId: 't', identifier: `s${i}` }));
await sleep(2000);
const before = await snapshot();
const t0 = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (next < runs) {
      const i = next++;
      await agent.enqueue(sessions[i % sessions.length], 'Say ok.');
    }
  }),
);
for (;;) {
  const [r] = await db.query(`select count(*)::int as n from agentpg_runs where finalized_at is not null`);
  if ((r as { n: number }).n >= runs) break;
  await sleep(200);
}
const wallS = (Date.now() - t0) / 1000;
await sleep(1500);
const after = await snapshot();
let cpu = 0;
for (const [pid, s] of after.cpu) cpu += s - (before.cpu.get(pid) ?? 0);
// Polls by the harness pool (one autocommit statement each) are in the commits: about wallS / 0.2.
const polls = Math.ceil(wallS / 0.2) + 1;
const result = {
  runs,
  server: (await admin.query<{ v: string }>('select version() as v')).rows[0].v.split(' on ')[0],
  commits_per_run: Math.round(((after.commits - before.commits - polls) / runs) * 100) / 100,
  wal_bytes_per_run: Math.round(lsnDiff(before.lsn, after.lsn) / runs),
  backend_cpu_ms_per_run: Math.round((cpu / runs) * 1000 * 100) / 100,
  wall_s: Math.round(wallS * 10) / 10,
  runs_per_s_one_instance: Math.round((runs / wallS) * 10) / 10,
};
console.log(JSON.stringify(result, null, 2));
await client.stop();
await fake.close();
await admin.end();
await db.drop();
