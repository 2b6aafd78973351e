import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentPG, RunStepInfo, RunStepName } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import {
  CHARGE_ID,
  EMAIL_ID,
  SIDE_EFFECTS_DDL,
  crashPointAgents,
  crashPointModel,
  crashPointTools,
} from '../fixtures/runs-crashpoints-defs.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
let fake: FakeAnthropic;
let toolPool: pg.Pool;
let client: AgentPG;
const steps: Array<{ step: RunStepName } & RunStepInfo> = [];
const errors: Error[] = [];

test.beforeAll(async ({ db: testDb, fake: testFake, startClient }) => {
  db = testDb;
  await db.query(SIDE_EFFECTS_DDL);
  fake = testFake;
  fake.setResponder(crashPointModel);
  toolPool = new pg.Pool({ connectionString: db.url, max: 2 });
  // pool.end() resolves before its sockets close: the database's DROP ... FORCE may still
  // terminate one, which an idle client reports as a pool 'error'.
  toolPool.on('error', () => {});
  client = await startClient({
    agents: crashPointAgents,
    tools: crashPointTools(toolPool, 'one'),
    onError: (err) => void errors.push(err),
    async onRunStep(step, info) {
      steps.push({ step, ...info });
      // A tracer that fails must not take the run with it.
      if (step === 'tools_started') throw new Error('tracer is down');
    },
  });
});
afterAll(async () => {
  await toolPool?.end();
});

describe('config.onRunStep', () => {
  it('reports every durable step of a run in order; a throwing hook is only reported', async () => {
    const agent = client.agent('crashpoints');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'steps' });
    const { run } = await agent.run(sessionId, 'charge and email');
    expect(run.state).toBe('completed');
    // run() resolves on the `completed` NOTIFY, which may arrive before the executor's hook call
    // that follows the same COMMIT: wait for the hook rather than race it.
    await until(() => steps.some((s) => s.step === 'finalized'), 10_000, 10);

    const names = steps.map((s) => (s.toolUseId ? `${s.step}:${s.toolUseId}` : s.step));
    const results = names.filter((n) => n.startsWith('tool_result_stored')).sort();
    expect(names.filter((n) => !n.startsWith('tool_result_stored'))).toEqual([
      'enqueued',
      'claimed',
      'tool_turn_stored',
      'tools_started',
      'finalized',
    ]);
    expect(results).toEqual([`tool_result_stored:${CHARGE_ID}`, `tool_result_stored:${EMAIL_ID}`]);
    expect(names.indexOf('tools_started')).toBeLessThan(names.findIndex((n) => n.startsWith('tool_result_stored')));
    expect(names.at(-1)).toBe('finalized');
    expect(steps.map((s) => [s.step, s.attempt, s.iteration])).toEqual(
      steps.map((s) => [s.step, s.step === 'enqueued' ? 0 : 1, ['enqueued', 'claimed'].includes(s.step) ? 0 : 1]),
    );
    expect(steps.every((s) => s.runId === run.id)).toBe(true);
    expect(steps.at(-1)).toMatchObject({ step: 'finalized', state: 'completed' });
    expect(errors.map((e) => e.message)).toEqual(['tracer is down']);
  });
});
