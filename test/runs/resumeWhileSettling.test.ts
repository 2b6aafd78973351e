import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG } from '../../src/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { untilValue } from '../helpers/until.js';
import { MODEL } from './helpers.js';

/**
 * A decision recorded in the moment between a run's suspend COMMIT and its execution settling on
 * the worker: the same worker (a free slot) may claim the run again before the suspended
 * execution has left its bookkeeping. The old execution's settling must not drop the new one
 * (which would then miss its cancel NOTIFY and its job heartbeats).
 */
let db: TestDatabase;
let client: AgentPG;
let reason: unknown = null;
let toolStarted = false;

test.beforeAll(async ({ db: testDb, fake, startClient }) => {
  db = testDb;
  fake.setResponder((req) => {
    const last = req.body.messages.at(-1)!;
    const done = Array.isArray(last.content) && last.content.some((b: any) => b.type === 'tool_result');
    return done ? { text: 'done' } : { toolUses: [{ name: 'hold', input: {} }] };
  });
  client = await startClient({
    agents: [defineAgent({ name: 'holder', model: MODEL, tools: ['hold'] })],
    tools: [
      defineTool({
        name: 'hold',
        description: 'Runs until aborted.',
        inputSchema: z.object({}),
        needsApproval: true,
        execute: (_input, ctx) =>
          new Promise((_resolve, reject) => {
            toolStarted = true;
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.signal.reason;
              reject(new Error('aborted'));
            });
          }),
      }),
    ],
    runConcurrency: 2,
    toolTimeoutMs: 40_000,
    // Inside the suspended execution, before it settles: decide, and let the worker claim the run again.
    async onRunStep(step, info) {
      if (step !== 'awaiting_input') return;
      const [call] = await db.query(`select tool_use_id from agentpg_tool_calls where run_id = $1`, [info.runId]);
      await db.query(`select agentpg_decide_tool_call($1, $2, 'approve', 'fast')`, [info.runId, call.tool_use_id]);
      await untilValue(
        async () => (await db.query(`select state, attempts from agentpg_runs where id = $1`, [info.runId]))[0],
        (r) => r.state === 'running' && r.attempts === 2,
      );
    },
  });
});

describe('a run resumed before its suspended execution settled', { timeout: 120_000 }, () => {
  it('is still tracked by its worker: a cancel reaches the resumed execution', async () => {
    const agent = client.agent('holder');
    const sid = await agent.newSession({ tenantId: 't', identifier: 'fast' });
    const runId = await agent.enqueue(sid, 'go');
    await untilValue(
      async () => toolStarted,
      (v) => v,
    );
    await client.runs.cancel(runId);
    const run = await client.runs.wait(runId, { timeoutMs: 90_000 });
    expect(run.state).toBe('cancelled');
    // Aborted by the cancel, not by the tool's timeout.
    expect((reason as Error).message).toBe('run execution aborted: cancel');
  });
});
