import type { PgBoss } from 'pg-boss';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentPG } from '../../src/client.js';
import { createLogger } from '../../src/logger.js';
import { defaultRunHandBack } from '../../src/cluster/handBackRuns.js';
import { findRunsOfDeadInstances } from '../../src/cluster/sql/findRunsOfDeadInstances.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

let db: TestDatabase;
let client: AgentPG;
let boss: PgBoss;
test.beforeAll(async ({ db: testDb }) => {
  db = testDb;
  client = new AgentPG({
    databaseUrl: db.url,
    instanceId: 'hb-live',
    migrate: false,
    anthropic: { baseURL: 'http://127.0.0.1:9', apiKey: 'test' },
    agents: [{ name: 'echo', model: 'claude-test' }],
    // Passes only when the test asks: runCleanupPass().
    cleanupIntervalMs: 3_600_000,
    logger: createLogger({ level: 'silent' }),
  });
  await client.start();
  boss = (client as unknown as { rt: { boss: PgBoss } }).rt.boss;
});
afterAll(async () => {
  await client?.stop();
});

/** A job fetched (made active) as a worker of instance `instanceId` would, and its run row. */
async function runHeldBy(queue: string, instanceId: string) {
  const jobId = await boss.send(queue, { x: 1 });
  const [job] = await boss.fetch(queue);
  expect(job.id).toBe(jobId);
  const [session] = await db.query(
    `insert into agentpg_sessions (tenant_id, identifier) values ('t', 'u') returning id`,
  );
  const [run] = await db.query(
    `insert into agentpg_runs (session_id, state, agent_name, tenant_id, prompt, started_at, instance_id, job_id)
     values ($1, 'running', 'echo', 't', 'hi', now(), $2, $3) returning id`,
    [session.id, instanceId, jobId],
  );
  return { runId: run.id as string, jobId: jobId! };
}

const jobState = async (id: string) =>
  (await db.query(`select state::text as state, retry_count from agentpg_boss.job where id = $1`, [id]))[0];

describe('handing back the runs of a dead instance', () => {
  it('puts the job back to retry at once and keeps the run running, unowned; a repeated pass does nothing', async () => {
    await boss.createQueue('hb_q', { retryLimit: 3 });
    const { runId, jobId } = await runHeldBy('hb_q', 'hb-dead'); // no such instance row: it is dead
    const live = await runHeldBy('hb_q', 'hb-live'); // this instance is alive: not touched

    const pass = await client.runCleanupPass();
    expect(pass.releasedRuns).toBe(1);
    expect(await jobState(jobId)).toEqual({ state: 'retry', retry_count: 0 });
    const [run] = await db.query(`select state, instance_id from agentpg_runs where id = $1`, [runId]);
    expect(run).toEqual({ state: 'running', instance_id: null });
    expect((await jobState(live.jobId)).state).toBe('active');

    const again = await client.runCleanupPass();
    expect(again.releasedRuns).toBe(0);
    expect(await jobState(jobId)).toEqual({ state: 'retry', retry_count: 0 });
  });

  it('fails the run (instance_lost) and removes the job when no retries are left', async () => {
    await boss.createQueue('hb_q0', { retryLimit: 0 });
    const { runId, jobId } = await runHeldBy('hb_q0', 'hb-dead-2');
    const pass = await client.runCleanupPass();
    expect(pass.releasedRuns).toBe(0);
    const [run] = await db.query(`select state, error_type, finalized_at from agentpg_runs where id = $1`, [runId]);
    expect(run).toMatchObject({ state: 'failed', error_type: 'instance_lost' });
    expect(await jobState(jobId)).toBeUndefined();
  });

  it('counts a run once when two survivors hand back the same death from the same list', async () => {
    await boss.createQueue('hb_q2', { retryLimit: 3 });
    await boss.createQueue('hb_q3', { retryLimit: 0 });
    const kept = await runHeldBy('hb_q2', 'hb-dead-3');
    const lost = await runHeldBy('hb_q3', 'hb-dead-3');
    const runs = (await findRunsOfDeadInstances(db.pool)).filter((r) => r.instanceId === 'hb-dead-3');
    expect(runs).toHaveLength(2);
    const logger = createLogger({ level: 'silent' });
    const first = defaultRunHandBack(boss, db.pool, logger);
    const second = defaultRunHandBack(boss, db.pool, logger);
    const counts = await Promise.all([first(runs), second(runs)]);
    // The run with retries left is handed back once; the one without is failed, never counted.
    expect(counts[0] + counts[1]).toBe(1);
    expect(await second(runs)).toBe(0);
    expect(await jobState(kept.jobId)).toEqual({ state: 'retry', retry_count: 0 });
    const [run] = await db.query(`select state, error_type from agentpg_runs where id = $1`, [lost.runId]);
    expect(run).toMatchObject({ state: 'failed', error_type: 'instance_lost' });
  });

  it('deletes (never fails) the job of a run it times out', async () => {
    await boss.createQueue('hb_q1', { retryLimit: 3 });
    const { runId, jobId } = await runHeldBy('hb_q1', 'hb-live');
    await db.query(
      `update agentpg_runs set started_at = now() - interval '2 hours', state_changed_at = now() - interval '2 hours' where id = $1`,
      [runId],
    );
    const pass = await client.runCleanupPass();
    expect(pass.stuckRunIds).toEqual([runId]);
    expect(await jobState(jobId)).toBeUndefined();
    const [run] = await db.query(`select state, error_message from agentpg_runs where id = $1`, [runId]);
    expect(run).toEqual({ state: 'failed', error_message: 'run timed out' });
  });
});
