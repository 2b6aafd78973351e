import { describe, expect, it } from 'vitest';
import { cliProcess } from '../helpers/cli.js';
import { z } from 'zod';
import { defineAgent, defineTool, requestInput, type AgentPG } from '../../src/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { MODEL, untilRunState } from '../runs/helpers.js';

let db: TestDatabase;
let client: AgentPG;

/** Runs the real CLI entry point as a child process, like an operator would. */
const cli = (...args: string[]) => cliProcess(db.url, ...args);

test.beforeAll(async ({ db: testDb, fake, startClient }) => {
  db = testDb;
  fake.setResponder((req) => {
    const last = req.body.messages.at(-1)!;
    const blocks = typeof last.content === 'string' ? [] : (last.content as any[]);
    const result = blocks.find((b) => b.type === 'tool_result');
    if (result) return { text: `${result.is_error ? 'ERR ' : ''}${String(result.content)}` };
    const text = typeof last.content === 'string' ? last.content : (blocks.find((b) => b.type === 'text')?.text ?? '');
    return { toolUses: [{ name: text, input: { amount: 7 } }] };
  });
  client = await startClient({
    agents: [defineAgent({ name: 'ops', model: MODEL, tools: ['pay', 'ask'] })],
    tools: [
      defineTool({
        name: 'pay',
        description: 'Pays.',
        inputSchema: z.object({ amount: z.number() }),
        needsApproval: true,
        execute: (input) => `paid ${input.amount}`,
      }),
      defineTool({
        name: 'ask',
        description: 'Asks.',
        inputSchema: z.object({ amount: z.number() }),
        execute: () => requestInput({ question: 'Which card?' }),
      }),
    ],
  });
});

async function waitingRun(tool: string): Promise<string> {
  const agent = client.agent('ops');
  const sid = await agent.newSession({ tenantId: 'cli-t', identifier: `s-${Math.random()}` });
  const runId = await agent.enqueue(sid, tool);
  await untilRunState(client, runId, 'awaiting_input');
  return runId;
}

// Each CLI call boots tsx in a child process: seconds each on a loaded machine.
describe('agentpg approvals / inputs', { timeout: 300_000 }, () => {
  it('lists pending approvals and decides one (edited input), as an operator would', async () => {
    const runId = await waitingRun('pay');
    const listed = await cli('approvals', 'list', '--tenant', 'cli-t', '--run', runId, '--json');
    expect(listed.code).toBe(0);
    const [pending] = JSON.parse(listed.stdout);
    expect(pending).toMatchObject({ runId, toolName: 'pay', input: { amount: 7 } });
    expect((await cli('approvals', 'decide', runId, pending.toolUseId, 'maybe')).code).toBe(2);
    expect((await cli('approvals', 'decide', runId, 'toolu_nope', 'approve')).code).toBe(1);
    const res = await cli(
      'approvals',
      'decide',
      runId,
      pending.toolUseId,
      'approve',
      '--input',
      '{"amount":5}',
      '--by',
      'ann',
    );
    expect(res).toEqual({ code: 0, stdout: 'approved; the run is queued\n' });
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('paid 5');
    const [call] = await db.query(`select decided_by from agentpg_tool_calls where run_id = $1`, [runId]);
    expect(call.decided_by).toBe('ann');
    expect((await cli('approvals', 'decide', runId, pending.toolUseId, 'deny')).code).toBe(1);
  });

  it('denies with a message', async () => {
    const runId = await waitingRun('pay');
    const [pending] = await client.approvals.list({ runId });
    const res = await cli('approvals', 'decide', runId, pending.toolUseId, 'deny', '--message', 'not today');
    expect(res.code).toBe(0);
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('ERR tool call denied: not today');
  });

  it('lists questions and answers one', async () => {
    const runId = await waitingRun('ask');
    const listed = await cli('inputs', 'list', '--run', runId, '--json');
    const [pending] = JSON.parse(listed.stdout);
    expect(pending).toMatchObject({ runId, toolName: 'ask', question: 'Which card?' });
    const res = await cli('inputs', 'answer', runId, pending.toolUseId, 'the blue one', '--json');
    expect(JSON.parse(res.stdout)).toEqual({ runState: 'queued' });
    expect((await client.runs.result(runId, { timeoutMs: 60_000 })).text).toBe('the blue one');
    const [call] = await db.query(`select decided_by from agentpg_tool_calls where run_id = $1`, [runId]);
    expect(call.decided_by).toMatch(/^cli:/);
    expect((await cli('inputs', 'answer', runId, pending.toolUseId)).code).toBe(2);
  });
});
