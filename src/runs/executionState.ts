import type { JobAttempt } from 'pg-boss';
import type { Runtime } from '../runtime.js';
import type { RunTrace } from '../tracing/runTrace.js';
import type { FinalState } from './sql/finalizeRuns.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import type { RunStepName } from './stepTypes.js';
import type { StreamBuffer } from './streamBuffer.js';
import type { ParamMessage } from './transcript.js';
import type { Run } from './types.js';

export type AbortReason = 'cancel' | 'shutdown' | 'claim_lost';

/** Why an execution stopped early; the AbortController's reason. */
export class ExecutionAborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`run execution aborted: ${reason}`);
  }
}

/** A fenced write matched no row: the run is no longer `running` under this execution's claim. */
export class ClaimGone extends Error {}

/** `suspended`: the run waits in `awaiting_input`, its job set aside (approvalGate.ts). */
export type ExecutionOutcome = 'finished' | 'handback' | 'lost' | 'suspended';

export type Block = Record<string, any>;

export interface OpenCalls {
  messageId: string;
  uses: Array<{ id: string; name: string; input: unknown }>;
  rows: ToolCallRow[];
  /** Results known so far, by tool_use id (stored rows, or executed in this process). */
  results: Map<string, { output: string; isError: boolean }>;
}

/**
 * What the steps of one execution share: RunExecution (executor.ts) holds it, and the model turn
 * (modelTurn.ts), the tool turn (toolTurn.ts) and the waits (runSuspension.ts) read and advance it.
 */
export interface ExecutionState {
  readonly rt: Runtime;
  readonly run: Run;
  /** This execution's claim (agentpg_runs.attempts): the fence of its writes. */
  readonly attempt: number;
  readonly job: JobAttempt;
  readonly stream: StreamBuffer;
  /** This execution's spans (src/tracing/): the execution, its model calls and tool calls. */
  readonly trace: RunTrace;
  readonly signal: AbortSignal;
  /** [batch] The run's model calls go through the Message Batches API (src/batch/). */
  readonly batchMode: boolean;
  transcript: ParamMessage[];
  toolIterations: number;
  open: OpenCalls | null;
  /** tool_result blocks of the last turn not stored as a message yet (stored with the next step). */
  pendingResults: Block[] | null;
  /** config.onRunStep, right after a durable step committed (awaited only when a hook is set). */
  step(
    step: RunStepName,
    extra?: { toolUseId?: string; state?: FinalState; customId?: string },
  ): Promise<void> | undefined;
  /** A fenced write matched no row: counted, and the error that ends this execution. */
  refused(): ClaimGone;
  abort(reason: AbortReason): void;
}

/** The stored results among tool call rows, by tool_use id. */
export function resultsOf(rows: ToolCallRow[]): OpenCalls['results'] {
  const out: OpenCalls['results'] = new Map();
  for (const r of rows)
    if (r.state === 'succeeded' || r.state === 'failed')
      out.set(r.toolUseId, { output: r.output ?? '', isError: r.isError });
  return out;
}
