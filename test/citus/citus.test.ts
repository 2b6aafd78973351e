/**
 * agentpg on a real Citus cluster (docs/scaling.md), opt-in: AGENTPG_TEST_CITUS=1 and a Citus build
 * for this machine's PostgreSQL 15 (test/helpers/citusCluster.ts finds it; `.ci/run` runs this file
 * when there is one). The file starts its own coordinator + 2 workers in a temporary folder (never
 * the shared server), migrates, applies the layout (src/db/citus/distribute.ts) and runs agentpg
 * against the coordinator: enqueue, a run and its events, the tool loop, a long-running agent, and
 * the SIGKILL failover of an instance in the middle of its runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { AgentPG, defineAgent, defineTool, type RunStateChangedEvent } from '../../src/index.js';
import { distributeOnCitus } from '../../src/db/citus/distribute.js';
import { COORDINATOR_TABLES, DISTRIBUTED_TABLES } from '../../src/db/citus/layout.js';
import { migrate } from '../../src/db/migrate.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { clockTool, clusterAgents } from '../fixtures/cluster-defs.js';
import { instanceProcesses, spawnInstance } from '../fixtures/cluster-spawn.js';
import { findCitusBuild, startLocalCitusCluster, type LocalCitusCluster } from '../helpers/citusCluster.js';
import { until, untilValue } from '../helpers/until.js';

const enabled = process.env.AGENTPG_TEST_CITUS === '1';
const build = enabled ? findCitusBuild() : null;
if (enabled && !build) throw new Error('AGENTPG_TEST_CITUS=1 but no Citus build (set AGENTPG_CITUS_DIR)');

const procs = instanceProcesses();
let cluster: LocalCitusCluster;
let pool: pg.Pool;
let fake: FakeAnthropic;
const clients: AgentPG[] = [];

async function startClient(config: Partial<ConstructorParameters<typeof AgentPG>[0]>): Promise<AgentPG> {
  const client = new AgentPG({
    databaseUrl: cluster.url,
    anthropic: { apiKey: 'sk-ant-test-secret-key-123', baseURL: fake.url },
    migrate: false,
    shutdownTimeoutMs: 2000,
    ...config,
  });
  await client.start();
  clients.push(client);
  return client;
}

const q = async <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) =>
  (await pool.query<R>(sql, params)).rows;

describe.skipIf(!enabled)('agentpg on a Citus cluster (coordinator + 2 workers)', () => {
  beforeAll(async () => {
    cluster = await startLocalCitusCluster(build!, 2);
    pool = new pg.Pool({ connectionString: cluster.url, max: 4 });
    await migrate(cluster.url);
    const result = await distributeOnCitus(cluster.url);
    expect(result).toMatchObject({ distributed: true, workers: 2 });
    fake = await startFakeAnthropic();
  }, 600_000);
  afterAll(async () => {
    for (const c of clients.reverse()) await c.stop().catch(() => {});
    await fake?.close();
    await pool?.end();
    await cluster?.stop();
  }, 180_000);

  it('distributes the hot tables over both workers by their key; the rest stays on the coordinator', async () => {
    const rows = await q<{ table_name: string; distribution_column: string }>(
      `select table_name::text, distribution_column from citus_tables where citus_table_type = 'distributed' order by 1`,
    );
    expect(rows).toEqual(
      [...DISTRIBUTED_TABLES]
        .sort((a, b) => a.table.localeCompare(b.table))
        .map((t) => ({ table_name: t.table, distribution_column: t.key })),
    );
    const [placement] = await q<{ nodes: number }>(
      `select count(distinct nodeport)::int as nodes from citus_shards where table_name = 'agentpg_runs'::regclass`,
    );
    expect(placement.nodes).toBe(2);
    const local = await q<{ name: string }>(
      `select logicalrelid::regclass::text as name from pg_dist_partition where logicalrelid::regclass::text = any($1)`,
      [[...COORDINATOR_TABLES]],
    );
    expect(local).toEqual([]);
    // Idempotent: a second call changes nothing.
    expect((await distributeOnCitus(cluster.url)).distributed).toBe(false);
  });

  it('enqueues and runs a single-turn run, and its end reaches event subscribers', async () => {
    const client = await startClient({
      agents: [defineAgent({ name: 'chat', model: 'claude-fake-model', systemPrompt: 'terse', maxTokens: 64 })],
    });
    const events: RunStateChangedEvent[] = [];
    const off = await client.events.subscribe('run_state_changed', (e) => void events.push(e));
    const agent = client.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 't1', identifier: 'u1' });
    fake.enqueue({ text: 'Hello from Citus' });
    const { text, run } = await agent.run(sessionId, 'Hello!', { timeoutMs: 60_000 });
    expect(text).toBe('Hello from Citus');
    expect(run).toMatchObject({ state: 'completed', sessionId, attempts: 1 });
    const messages = await client.sessions.messages(sessionId);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    // The run's end, notified by the coordinator (the row trigger cannot, on a worker).
    await until(() => events.some((e) => e.runId === run.id && e.state === 'completed'));
    await off();
    await client.stop();
  });

  it('runs the tool loop: tool call stored, executed once, its result sent back', async () => {
    let executions = 0;
    const add = defineTool({
      name: 'add',
      description: 'adds',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
      execute: async (input: { a: number; b: number }) => {
        executions++;
        return { sum: input.a + input.b };
      },
    });
    const client = await startClient({
      agents: [defineAgent({ name: 'calc', model: 'claude-fake-model', maxTokens: 64, tools: ['add'] })],
      tools: [add],
    });
    const agent = client.agent('calc');
    const sessionId = await agent.newSession({ tenantId: 't1', identifier: 'u2' });
    fake.enqueue({ toolUses: [{ name: 'add', input: { a: 2, b: 3 } }] }, { text: 'five' });
    const { text, run } = await agent.run(sessionId, '2 + 3?', { timeoutMs: 60_000 });
    expect(text).toBe('five');
    expect(run).toMatchObject({ state: 'completed', toolIterations: 1 });
    expect(executions).toBe(1);
    const calls = await q(`select tool_name, state, output from agentpg_tool_calls where run_id = $1`, [run.id]);
    expect(calls).toEqual([{ tool_name: 'add', state: 'succeeded', output: '{"sum":5}' }]);
    expect((await client.sessions.messages(sessionId)).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    await client.stop();
  });

  it('keeps a long-running agent with one owner on the coordinator (advisory locks), checkpoints and stop', async () => {
    const client = await startClient({
      longRunning: [
        {
          kind: 'ticker',
          handler: async (ctx) => {
            let n = (ctx.checkpoint as { n?: number } | null)?.n ?? 0;
            while (!ctx.signal.aborted) {
              n++;
              await ctx.saveCheckpoint({ n });
              await new Promise((r) => setTimeout(r, 50));
            }
          },
        },
      ],
    });
    const a = await client.longRunning.start({ id: 'tick-1', kind: 'ticker' });
    const row = await untilValue(
      () => client.longRunning.get(a.id),
      (r) => r.ownerInstanceId === client.instanceId && ((r.checkpoint as { n?: number } | null)?.n ?? 0) >= 3,
    );
    expect(row.epoch).toBeGreaterThanOrEqual(1);
    await client.longRunning.stop(a.id);
    await untilValue(
      () => client.longRunning.get(a.id),
      (r) => r.state === 'stopped' && r.ownerInstanceId === null,
    );
    await client.stop();
  });

  it('SIGKILL of an instance in the middle of its runs: a survivor completes each, the stored turn not repeated', async () => {
    await q(`create table if not exists side_effects (tool_use_id text, attempt int, instance text)`);
    fake.setResponder((req) => {
      const last = (req.body.messages as Array<{ content: unknown }>).at(-1)!;
      const answered = Array.isArray(last.content) && last.content.some((b: any) => b.type === 'tool_result');
      return answered ? { text: 'done' } : { toolUses: [{ name: 'clock', input: {} }] };
    });
    const child = await spawnInstance(
      {
        AGENTPG_DATABASE_URL: cluster.url,
        AGENTPG_FAKE_URL: fake.url,
        AGENTPG_INSTANCE_ID: 'doomed',
        AGENTPG_TTL_MS: String(10 * 60_000),
        AGENTPG_CLEANUP_MS: String(10 * 60_000),
        AGENTPG_HEARTBEAT_MS: '1000',
        AGENTPG_SIDE_EFFECTS: cluster.url,
        AGENTPG_TOOL_MS: '600000',
      },
      120_000,
    );
    procs.push(child);
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) runIds.push((await child.command('enqueue', { prompt: `doomed ${i}` })).runId);
    await untilValue(
      () => q<{ n: number }>(`select count(*)::int as n from side_effects where instance = 'doomed'`),
      (r) => r[0].n === 3,
      90_000,
    );
    const survivor = await startClient({
      instanceId: 'survivor',
      agents: clusterAgents,
      tools: [
        clockTool('survivor', {
          record: (toolUseId, attempt, instance) =>
            pool.query(`insert into side_effects values ($1, $2, $3)`, [toolUseId, attempt, instance]),
        }),
      ],
      instanceTtlMs: 10 * 60_000,
      cleanupIntervalMs: 10 * 60_000,
    });
    child.kill('SIGKILL');
    for (const id of runIds) expect((await survivor.runs.wait(id, { timeoutMs: 120_000 })).state).toBe('completed');
    const runs = await q(
      `select state, attempts >= 2 as resumed, instance_id from agentpg_runs where id = any($1) order by id`,
      [runIds],
    );
    expect(runs).toEqual(runIds.map(() => ({ state: 'completed', resumed: true, instance_id: 'survivor' })));
    // The tool_use turn stored by the dead instance is answered once, by the survivor; each run has
    // exactly its four messages (prompt, tool_use, tool_result, answer): nothing stored twice.
    const calls = await q(
      `select output, count(*)::int as calls from agentpg_tool_calls where run_id = any($1) group by output`,
      [runIds],
    );
    expect(calls).toEqual([{ output: 'noon (survivor)', calls: 3 }]);
    const messages = await q<{ n: number }>(`select count(*)::int as n from agentpg_messages where run_id = any($1)`, [
      runIds,
    ]);
    expect(messages[0].n).toBe(12);
    expect((await survivor.health()).runsHandedBackByFailover).toBe(3);
  });
});
