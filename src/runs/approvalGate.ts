import type { JobAttempt } from 'pg-boss';
import { withTransaction } from '../db/connection.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS, type ApprovalContext, type ToolDefinition } from '../model/tool.js';
import type { Runtime } from '../runtime.js';
import { bossDb } from './db.js';
import { RUNS_QUEUE } from './queueName.js';
import { markAwaitingInput, timeOutApprovals } from './sql/approvals.js';
import { lockRunForSuspend } from './sql/lockRunForSuspend.js';
import { setRunJobStart } from './sql/setRunJobStart.js';
import { notifyStream } from './sql/notifyStream.js';
import { timeOutInputRequests } from './sql/inputRequests.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import type { StreamBuffer } from './streamBuffer.js';

/** The execution suspended its run (`awaiting_input`): nothing more to do on this instance. */
export class RunSuspended extends Error {
  constructor() {
    super('run suspended: awaiting input');
  }
}

/**
 * For each tool_use of a turn: how long its approval may wait, or null when it needs none. A tool's
 * needsApproval function that throws counts as "needs approval" (the safe side). Unknown tools and
 * tools the agent does not have need none: they are answered with an error without running.
 */
export async function approvalTimeouts(
  tools: Array<ToolDefinition | undefined>,
  uses: Array<{ input: unknown }>,
  ctx: ApprovalContext,
): Promise<Array<number | null>> {
  return Promise.all(
    uses.map(async (u, i) => {
      const tool = tools[i];
      if (!tool?.needsApproval) return null;
      let needed = true;
      if (typeof tool.needsApproval === 'function') {
        try {
          needed = (await tool.needsApproval(u.input, ctx)) !== false;
        } catch {
          needed = true;
        }
      }
      return needed ? (tool.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS) : null;
    }),
  );
}

/** The tool_result a denied call answers the model with. */
export function deniedOutput(row: ToolCallRow): string {
  return `tool call denied${row.decisionMessage ? `: ${row.decisionMessage}` : ''}`;
}

/**
 * The open turn has calls waiting for a decision or an answer (input requests: inputRequests.ts).
 * Their passed deadlines are timed out first; then
 * ONE transaction, if some still wait: the run row locked (fenced on this claim), running →
 * awaiting_input, the pg-boss job failed back to `retry` (it holds back the session's later runs:
 * key_strict_fifo) and due again at the earliest deadline, the `approval_requested` stream events.
 * Durable at COMMIT (step `awaiting_input`); the worker slot is then free. Returns 'suspended', or
 * 'decided' when every decision is in (the caller re-reads the calls and goes on), or 'gone' when
 * the claim is lost, or 'cancel' when a cancel was requested.
 */
export async function suspendForApproval(
  rt: Runtime,
  run: { id: string; attempt: number },
  job: JobAttempt,
  rows: ToolCallRow[],
  stream: StreamBuffer,
): Promise<{ dueAt: Date } | 'decided' | 'gone' | 'cancel'> {
  await timeOutApprovals(rt.pool, run.id);
  await timeOutInputRequests(rt.pool, run.id);
  return withTransaction(rt.pool, async (tx) => {
    const locked = await lockRunForSuspend(tx, run.id, run.attempt);
    if (!locked) return 'gone';
    if (locked.cancelRequestedAt) return 'cancel';
    const waiting = await markAwaitingInput(tx, run.id);
    if (!waiting) return 'decided';
    await rt.boss.fail(RUNS_QUEUE, job, { reason: 'awaiting input' }, { db: bossDb(tx) });
    await setRunJobStart(tx, job.id, waiting.deadline);
    await notifyStream(
      tx,
      rows
        .filter((r) => r.approval === 'pending')
        .map((r) =>
          stream.payloadFor({
            type: 'approval_requested',
            toolUseId: r.toolUseId,
            name: r.toolName,
            deadline: waiting.deadline.toISOString(),
          }),
        ),
    );
    return { dueAt: waiting.deadline };
  });
}
