import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG, type AgentPGConfig } from '../../src/index.js';
import { routeKeyOf } from '../../src/runs/routing.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { untilValue } from '../helpers/until.js';
import { instanceAgentLinks, MODEL, recordJobTransitions } from './helpers.js';

// Capability routing: three instances on one database; only `capable` has agent X with its tool.
let db: TestDatabase;
let fake: FakeAnthropic;
let capable: AgentPG; // X and its tool `lookup`, Y
let noTool: AgentPG; // X without `lookup` (registered with a warning, not fetched), Y, Z without `lookup`
let noAgent: AgentPG; // Y only
let start: (config: Partial<AgentPGConfig>) => Promise<AgentPG>;

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks something up.',
  inputSchema: z.object({ q: z.string() }),
  execute: ({ q }) => `found ${q}`,
});
const X = defineAgent({ name: 'x', model: MODEL, tools: ['lookup'] });
const Y = defineAgent({ name: 'y', model: MODEL });
const Z = defineAgent({ name: 'z', model: MODEL, tools: ['lookup'] });

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  fake = testFake;
  start = startClient;
  capable = await startClient({ instanceId: 'capable', agents: [X, Y], tools: [lookup] });
  noTool = await startClient({ instanceId: 'no-tool', agents: [X, Y, Z], tools: [] });
  noAgent = await startClient({ instanceId: 'no-agent', agents: [Y], tools: [lookup] });
  await recordJobTransitions(db);
}, 120_000);

describe('capability routing', () => {
  it('links an instance only to the agents it can run (the agent and all its tools)', async () => {
    expect(await instanceAgentLinks(db)).toEqual([
      { instance_id: 'capable', agents: ['x', 'y'] },
      { instance_id: 'no-agent', agents: ['y'] },
      { instance_id: 'no-tool', agents: ['y'] },
    ]);
  });

  it('computes the same route key in TypeScript and in SQL (agentpg_enqueue_run), never the legacy 0', async () => {
    const names = ['x', 'y', 'support-agent', 'Ünïcødé_agent', 'a'.repeat(255)];
    const rows = await db.query<{ key: number }>(`select agentpg_route_key(n) as key from unnest($1::text[]) n`, [
      names,
    ]);
    expect(rows.map((r) => r.key)).toEqual(names.map(routeKeyOf));
    expect(names.map(routeKeyOf)).not.toContain(0);
  });

  it('runs 200 runs of X on the one capable instance; no other instance ever fetches one of their jobs', async () => {
    fake.reset();
    const sessions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => noTool.agent('x').newSession({ tenantId: 't', identifier: `x-${i}` })),
    );
    // Enqueued on instances that cannot run X (their own worker is not woken: only the NOTIFY
    // reaches `capable`), with runs of Y (which every instance runs) in between.
    const ySession = await noAgent.agent('y').newSession({ tenantId: 't', identifier: 'y' });
    const [xIds, yIds] = await Promise.all([
      Promise.all(Array.from({ length: 200 }, (_, i) => noTool.agent('x').enqueue(sessions[i % 20], `x ${i}`))),
      Promise.all(Array.from({ length: 30 }, (_, i) => noAgent.agent('y').enqueue(ySession, `y ${i}`))),
    ]);
    const runs = await Promise.all(xIds.map((id) => capable.runs.wait(id, { timeoutMs: 120_000 })));
    expect(runs.every((r) => r.state === 'completed')).toBe(true);
    expect(new Set(runs.map((r) => r.instanceId))).toEqual(new Set(['capable']));
    const yRuns = await Promise.all(yIds.map((id) => capable.runs.wait(id, { timeoutMs: 120_000 })));
    expect(yRuns.every((r) => r.state === 'completed')).toBe(true);

    // Each X job was made active exactly once (by the capable instance's claim) and never handed
    // back: a fetch by another instance would show as a second activation and a retry.
    const [x] = await db.query(
      `select count(*)::int as activations, count(distinct t.job_id)::int as jobs,
              count(*) filter (where t.state = 'retry')::int as handbacks,
              count(*) filter (where t.priority <> $2)::int as wrong_key
         from test_job_transitions t where t.run_id = any($1::uuid[])`,
      [xIds, routeKeyOf('x')],
    );
    expect(x).toEqual({ activations: 200, jobs: 200, handbacks: 0, wrong_key: 0 });
    const [attempts] = await db.query(`select max(attempts)::int as max from agentpg_runs where id = any($1::uuid[])`, [
      xIds,
    ]);
    expect(attempts.max).toBe(1);
  }, 180_000);

  // Before `late` joins: every instance here can run Y. A legacy job fetched by an instance that
  // cannot run it is handed back with pg-boss's retry backoff, as before routing existed.
  it('still runs a job written before routing existed (priority 0), found by the backstop poll of an instance that can run it', async () => {
    fake.reset();
    const sessionId = await noAgent.agent('y').newSession({ tenantId: 't', identifier: 'legacy' });
    const client = await db.pool.connect();
    let runId: string;
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string }>(`select agentpg_enqueue_run($1, 'y', 'from before') as id`, [
        sessionId,
      ]);
      runId = rows[0].id;
      await client.query(
        `update agentpg_boss.job set priority = 0 where name = 'agentpg_runs' and data->>'runId' = $1`,
        [runId],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
    const run = await noAgent.runs.wait(runId, { timeoutMs: 60_000 });
    expect(run.state).toBe('completed');
    const activations = await db.query(`select priority from test_job_transitions where run_id = $1`, [runId]);
    expect(activations).toEqual([{ priority: 0 }]);
  }, 120_000);

  it('keeps a run of an agent no live instance can run queued and reported, and starts it when a capable instance joins', async () => {
    fake.reset();
    const sessionId = await noTool.agent('z').newSession({ tenantId: 't', identifier: 'z' });
    const runId = await noTool.agent('z').enqueue(sessionId, 'waiting for an instance');
    // Longer than the backstop poll: every instance had its chance to (wrongly) take it.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await noTool.runs.get(runId))?.state).toBe('queued');
    const unroutable = await db.query(`select id, agent_name from agentpg_unroutable_runs`);
    expect(unroutable).toEqual([{ id: runId, agent_name: 'z' }]);
    const [activations] = await db.query(`select count(*)::int as n from test_job_transitions where run_id = $1`, [
      runId,
    ]);
    expect(activations.n).toBe(0);

    const late = await start({ instanceId: 'late', agents: [Z], tools: [lookup] });
    const run = await late.runs.wait(runId, { timeoutMs: 60_000 });
    expect(run).toMatchObject({ state: 'completed', instanceId: 'late', attempts: 1 });
    await untilValue(
      () => db.query(`select id from agentpg_unroutable_runs`),
      (rows) => rows.length === 0,
    );
  }, 120_000);
});
