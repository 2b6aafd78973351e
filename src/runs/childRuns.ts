import { randomUUID } from 'node:crypto';
import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import { preparedStatements } from '../db/preparedStatements.js';
import type { AgentDefinition } from '../model/agent.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE } from './queueName.js';
import { insertRunJobs, runJobInsert } from './runJob.js';
import { lockRunForSuspend } from './sql/lockRunForSuspend.js';
import { setRunJobStart } from './sql/setRunJobStart.js';
import { insertChildRuns } from './sql/insertChildRuns.js';
import { markAwaitingChildren } from './sql/markAwaitingChildren.js';
import { notifyStream } from './sql/notifyStream.js';
import { startChildToolCalls } from './sql/startChildToolCalls.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import type { StreamBuffer } from './streamBuffer.js';
import type { Run } from './types.js';

/**
 * Agents as tools. An agent lists other agents (`agents`); the model sees each as a tool taking a
 * `prompt`. A call of one is not executed in this process: it starts a CHILD RUN of that agent in
 * a child session, on any instance that can run it, and the parent waits for it durably, holding
 * no worker:
 *
 * 1. `children_started` (startChildRuns): ONE transaction, fenced on the parent's claim, inserts a
 *    child session + `queued` run + pg-boss job per agent call that has none yet, and marks the
 *    calls `running`. Exactly one child per call (the unique index on parent_tool_call_id, and a
 *    resume finds the child it made before). The turn's ordinary tools run after it, while the
 *    children already run elsewhere.
 * 2. `awaiting_input` (suspendForChildren): ONE transaction: if a child is still open, the parent
 *    goes `awaiting_input` and its job is set aside (back to `retry`, due in 100 years), exactly
 *    like a wait for approval (approvalGate.ts). Else it goes on at once.
 * 3. The child's end (trigger agentpg_runs_deliver_to_parent, migration agents_as_tools), in the
 *    transaction of the child's final UPDATE: the parent's call gets the child's answer (or an
 *    is_error result), and if nothing else is open the parent's job comes due now. The child's
 *    terminal NOTIFY wakes every worker; one claims the parent and it goes on from its turn.
 *
 * A crash between 1 and 2 leaves the children running and the parent `running` on a dead
 * instance: the hand-back re-queues it, its next claim makes no second child, and waits (or finds
 * the results already stored). Cancel cascades down (trigger agentpg_runs_cancel_children); a
 * child's failure is the parent's is_error tool_result, and the parent goes on.
 */

/** Whether a tool call of `agent` is a call of another agent (a child run), not of a tool. */
export function isAgentCall(agent: AgentDefinition, toolName: string): boolean {
  return (agent.agents ?? []).includes(toolName);
}

/** The tool calls of a turn, split: calls of agents (child runs) and calls of tools. */
export function splitAgentCalls(agent: AgentDefinition, rows: ToolCallRow[]): [ToolCallRow[], ToolCallRow[]] {
  const agents = rows.filter((r) => isAgentCall(agent, r.toolName));
  return [agents, rows.filter((r) => !agents.includes(r))];
}

/** How many claims a run's waits may have cost: one per call that waited (approval or child). */
export function waitsOf(agent: AgentDefinition | undefined, calls: ToolCallRow[]): number {
  return calls.filter(
    (c) => c.approval !== null || c.question !== null || (agent !== undefined && isAgentCall(agent, c.toolName)),
  ).length;
}

const MAX_PROMPT_BYTES = 1_000_000;

/** Why a call cannot start a child (its input, the depth limit), or null when it can. */
function refusalOf(rt: Runtime, run: Run, row: ToolCallRow): string | null {
  const prompt = (row.input as { prompt?: unknown } | null)?.prompt;
  if (typeof prompt !== 'string' || prompt.trim() === '')
    return `invalid input for agent "${row.toolName}": prompt must be a non-empty string`;
  if (Buffer.byteLength(prompt) > MAX_PROMPT_BYTES)
    return `invalid input for agent "${row.toolName}": prompt is larger than ${MAX_PROMPT_BYTES} bytes`;
  const limit = rt.config.maxAgentDepth;
  if (run.depth + 1 > limit)
    return `agent "${row.toolName}" not started: child runs may nest ${limit} deep (maxAgentDepth)`;
  return null;
}

/**
 * Step `children_started`: ONE transaction (durable at its COMMIT): the parent row locked under
 * this claim, a child session + run + job per call without a child, the calls `running` (or
 * `failed` with a refusal), `child_run_started` on the parent's stream. Returns 'gone' when the
 * claim is lost, 'cancel' when a cancel was requested, else the refused calls' results.
 */
export async function startChildRuns(
  rt: Runtime,
  run: Run,
  attempt: number,
  calls: ToolCallRow[],
  stream: StreamBuffer,
): Promise<'gone' | 'cancel' | { refused: Map<string, string> }> {
  const refused = new Map<string, string>();
  const todo: ToolCallRow[] = [];
  for (const c of calls) {
    if (c.state !== 'pending') continue; // its child was started before a crash
    const refusal = refusalOf(rt, run, c);
    if (refusal) refused.set(c.toolUseId, refusal);
    else todo.push(c);
  }
  const result = await withTransaction(rt.pool, async (client) => {
    // On the path of every child's start (child_run_start): the same few statements each time,
    // prepared once per connection.
    const tx = preparedStatements(client);
    const locked = await lockRunForSuspend(tx, run.id, attempt);
    if (!locked) return 'gone' as const;
    if (locked.cancelRequestedAt) return 'cancel' as const;
    const children = await insertChildRuns(
      tx,
      run.id,
      todo.map((c) => ({
        toolCallId: c.id,
        toolUseId: c.toolUseId,
        agentName: c.toolName,
        prompt: (c.input as { prompt: string }).prompt,
        sessionId: randomUUID(),
        jobId: randomUUID(),
      })),
    );
    await insertRunJobs(rt.boss, children.map(runJobInsert), tx);
    await startChildToolCalls(
      tx,
      run.id,
      calls.filter((c) => c.state === 'pending').map((c) => ({ id: c.id, refusal: refused.get(c.toolUseId) ?? null })),
    );
    const byCall = new Map(calls.map((c) => [c.id, c]));
    await notifyStream(
      tx,
      children.map((child) =>
        stream.payloadFor({
          type: 'child_run_started',
          toolUseId: byCall.get(child.toolCallId)!.toolUseId,
          name: child.agentName,
          childRunId: child.runId,
        }),
      ),
    );
    return children;
  });
  if (result === 'gone' || result === 'cancel') return result;
  // Committed: this instance's worker need not wait for the NOTIFY to go round the server.
  for (const child of result) rt.runs.localWorker?.wakeFor(child.runId, child.agentName);
  return { refused };
}

/**
 * Step `awaiting_input` for children: ONE transaction: the parent row locked under this claim; if
 * a child is still open, running → awaiting_input and the job failed back to `retry`, due only
 * when the last child's delivery makes it due (markAwaitingChildren says how the two meet).
 * Durable at COMMIT; the worker slot is then free. 'done' when every child had ended (the caller
 * re-reads the calls and goes on).
 */
export async function suspendForChildren(
  rt: Runtime,
  run: { id: string; attempt: number },
  job: JobAttempt,
): Promise<'suspended' | 'done' | 'gone' | 'cancel'> {
  return withTransaction(rt.pool, async (tx) => {
    const locked = await lockRunForSuspend(tx, run.id, run.attempt);
    if (!locked) return 'gone';
    if (locked.cancelRequestedAt) return 'cancel';
    if (!(await markAwaitingChildren(tx, run.id))) return 'done';
    await rt.boss.fail(RUNS_QUEUE, job, { reason: 'awaiting child runs' }, { db: bossDb(tx) });
    await setRunJobStart(tx, job.id, new Date(Date.now() + NO_DEADLINE_MS));
    return 'suspended';
  });
}

/** A wait for children has no deadline of its own (each child has its own limits). */
const NO_DEADLINE_MS = 100 * 365 * 24 * 3600_000;
