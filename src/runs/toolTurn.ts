import type Anthropic from '@anthropic-ai/sdk';
import type { AgentDefinition } from '../model/agent.js';
import { deniedOutput } from './approvalGate.js';
import { splitAgentCalls, startChildRuns } from './childRuns.js';
import { ExecutionAborted, resultsOf, type ExecutionState, type OpenCalls } from './executionState.js';
import { storeQuestion, waitsForPerson } from './inputRequests.js';
import { awaitApprovals, awaitChildren } from './runSuspension.js';
import {
  finishDeniedToolCalls,
  finishToolCall,
  listToolCallsOfRuns,
  startToolCalls,
  type ToolCallRow,
} from './sql/toolCalls.js';
import { executeTool } from './toolExec.js';
import { toolResultBlock } from './transcript.js';

// The tool turn of an execution (executor.ts loop): the open turn's calls answered, each durably,
// by a denial, a tool run here, a child run, or a person (through the waits of runSuspension.ts).

/**
 * Runs the open turn's tool calls that have no stored result, concurrently. Durable steps:
 * startToolCalls (all of them → `running`, attempts + 1: one autocommit UPDATE, `tools_started`),
 * then finishToolCall per call (its result: one autocommit UPDATE each, `tool_result_stored`).
 * A call whose result is stored is never executed again. The tool_result message itself is
 * stored by the next step's transaction.
 */
export async function runTools(x: ExecutionState, agent: AgentDefinition): Promise<void> {
  const open = x.open!;
  if (open.rows.some(waitsForPerson)) await awaitApprovals(x, open);
  await answerDenied(x, open);
  const byUse = new Map(open.rows.map((r) => [r.toolUseId, r]));
  const [childCalls, todo] = splitAgentCalls(
    agent,
    open.uses.filter((u) => !open.results.has(u.id) && byUse.has(u.id)).map((u) => byUse.get(u.id)!),
  );
  // Calls of agents start child runs first, so they run elsewhere while the tools run here.
  if (childCalls.some((c) => c.state === 'pending')) await startChildren(x, childCalls, open);
  for (const u of open.uses) {
    // A tool_use without a row cannot happen (same transaction); answer it rather than hang.
    if (!byUse.has(u.id)) open.results.set(u.id, { output: 'tool call record missing', isError: true });
  }
  if (todo.length > 0) {
    const started = await startToolCalls(
      x.rt.pool,
      x.run.id,
      x.attempt,
      todo.map((r) => r.id),
    );
    if (!started) throw x.refused();
    if (started.cancelRequestedAt) throw new ExecutionAborted('cancel');
    if (todo.some((row) => !started.attempts.has(row.id))) {
      // Not started because its result got stored after our claim read the rows: the previous
      // execution was not dead after all (its job heartbeat lapsed) and finished the call. Use
      // that result; executing the call again would be a needless second side effect.
      const stored = resultsOf((await listToolCallsOfRuns(x.rt.pool, [x.run.id])).get(x.run.id) ?? []);
      for (const row of todo) {
        if (started.attempts.has(row.id)) continue;
        const r = stored.get(row.toolUseId);
        if (!r) throw new Error(`tool call ${row.id} was neither started nor finished`);
        open.results.set(row.toolUseId, r);
      }
    }
    if (started.attempts.size > 0) await x.step('tools_started');
    const allowed = new Set(agent.tools ?? []);
    let asked = false;
    const settled = await Promise.allSettled(
      todo.map(async (row) => {
        const attempt = started.attempts.get(row.id);
        if (attempt === undefined) return; // finished by the earlier execution (above)
        const tool = allowed.has(row.toolName) ? x.rt.registry.tools.get(row.toolName) : undefined;
        const outcome = await x.trace.toolCall(executeTool)(
          tool,
          row.toolName,
          // Approved with an edited input: the person's input, not the model's.
          row.approval === 'approved' && row.approvedInput !== null ? row.approvedInput : row.input,
          {
            runId: x.run.id,
            sessionId: x.run.sessionId,
            tenantId: x.run.tenantId,
            agentName: x.run.agentName,
            idempotencyKey: row.toolUseId,
            attempt,
            signal: x.signal,
            context: x.run.context,
          },
          x.rt.config.toolTimeoutMs,
          x.rt.secrets,
        );
        if (outcome.inputRequest) {
          // The tool asked the user a question (inputRequests.ts): durable at storeQuestion's commit.
          if (!(await storeQuestion(x.rt, x.stream, row, attempt, outcome.inputRequest))) {
            x.abort('claim_lost');
            throw x.refused();
          }
          asked = true;
          await x.step('input_requested', { toolUseId: row.toolUseId });
          return;
        }
        const payload = x.stream.payloadFor({
          type: 'tool_result',
          toolUseId: row.toolUseId,
          name: row.toolName,
          isError: outcome.isError,
          output: outcome.output,
        });
        // Durable here: from this commit on, the call is never executed again.
        const stored = await finishToolCall(x.rt.pool, { id: row.id, attempt, ...outcome }, payload);
        if (!stored) {
          // A newer execution took the call over: stop the other tools of this one too.
          x.abort('claim_lost');
          throw x.refused();
        }
        open.results.set(row.toolUseId, { output: outcome.output, isError: outcome.isError });
        await x.step('tool_result_stored', { toolUseId: row.toolUseId });
      }),
    );
    // Every call settles (each is bounded by its timeout) before the execution gives the run up:
    // a run handed back while one of its tools still ran here could see that tool started again
    // elsewhere, concurrently with itself.
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (asked) await awaitApprovals(x, open);
  }
  if (childCalls.some((c) => !open.results.has(c.toolUseId))) await awaitChildren(x, open);
  const blocks = open.uses.map((u) => {
    const r = open.results.get(u.id)!;
    return toolResultBlock(u.id, r.output, r.isError);
  });
  x.pendingResults = blocks;
  x.transcript.push({ role: 'user', content: blocks as Anthropic.ContentBlockParam[] });
  x.open = null;
}

/** Agent calls of the open turn start their child runs (childRuns.ts): step `children_started`. */
async function startChildren(x: ExecutionState, calls: ToolCallRow[], open: OpenCalls): Promise<void> {
  const res = await startChildRuns(x.rt, x.run, x.attempt, calls, x.stream);
  if (res === 'gone') throw x.refused();
  if (res === 'cancel') throw new ExecutionAborted('cancel');
  for (const [toolUseId, output] of res.refused) open.results.set(toolUseId, { output, isError: true });
  await x.step('children_started');
}

/** Denied calls (by a person, or timed out) get their is_error result, durably, without running. */
async function answerDenied(x: ExecutionState, open: OpenCalls): Promise<void> {
  const denied = open.rows.filter((r) => r.approval === 'denied' && !open.results.has(r.toolUseId));
  if (denied.length === 0) return;
  const calls = denied.map((r) => ({ id: r.id, output: deniedOutput(r) }));
  if (!(await finishDeniedToolCalls(x.rt.pool, x.run.id, x.attempt, calls))) throw x.refused();
  for (const c of calls) {
    const row = denied.find((r) => r.id === c.id)!;
    open.results.set(row.toolUseId, { output: c.output, isError: true });
  }
}
