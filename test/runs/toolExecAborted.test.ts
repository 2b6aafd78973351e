/**
 * executeTool (src/runs/toolExec.ts) never invokes a tool for an execution already aborted: a
 * worker frozen between a call's fenced start and its invocation comes back with its claim lost
 * (a survivor may have stored the result meanwhile) and must not run the tool again. Found by the
 * chaos suite's SIGSTOP fault: a tool invoked 400 ms after SIGCONT, 7 s after the survivor stored
 * its result.
 */
import { describe, expect, it } from 'vitest';
import { ExecutionAborted } from '../../src/runs/executor.js';
import { executeTool } from '../../src/runs/toolExec.js';

describe('executeTool after an abort', () => {
  it('does not invoke the tool and rethrows the abort reason', async () => {
    let invoked = 0;
    const tool = {
      name: 'side_effect',
      description: 'counts its invocations',
      inputSchema: { type: 'object', properties: {} },
      execute: () => {
        invoked++;
        return 'done';
      },
    };
    const controller = new AbortController();
    controller.abort(new ExecutionAborted('claim_lost'));
    const ctx = {
      runId: 'r',
      sessionId: 's',
      tenantId: 't',
      agentName: 'a',
      idempotencyKey: 'toolu_1',
      attempt: 1,
      signal: controller.signal,
      context: {},
    };
    await expect(executeTool(tool, 'side_effect', {}, ctx, 10_000)).rejects.toBeInstanceOf(ExecutionAborted);
    expect(invoked).toBe(0);
    // Not aborted: invoked once, as before.
    const live = { ...ctx, signal: new AbortController().signal };
    await expect(executeTool(tool, 'side_effect', {}, live, 10_000)).resolves.toMatchObject({ output: 'done' });
    expect(invoked).toBe(1);
  });
});
