import type { CallerTransaction } from '../db/callerTransaction.js';
import type { RunState } from './states.js';

export type { RunState };

/** An agentpg_runs row, camelCase. Tokens are totals over every model call of the run. */
export interface Run {
  id: string;
  sessionId: string;
  state: RunState;
  agentName: string;
  tenantId: string;
  prompt: string;
  responseText: string | null;
  stopReason: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  toolIterations: number;
  errorMessage: string | null;
  /** `invalid_request_error`, `authentication_error`, `max_tool_iterations_exceeded`, ... */
  errorType: string | null;
  /** The instance executing (or that last executed) the run. */
  instanceId: string | null;
  idempotencyKey: string | null;
  jobId: string | null;
  /** How many times an instance picked the run up (more than 1 after a crash and resume). */
  attempts: number;
  /** [ratelimit] Claims that ended waiting for model capacity (not counted as crashes). */
  rateLimitDeferrals: number;
  metadata: Record<string, unknown>;
  /** The variables given at enqueue for its tools (ctx.context); `{}` when none. Never sent to the model. */
  context: Record<string, unknown>;
  /**
   * The W3C traceparent the run's spans are children of (its enqueue span's, or the caller's):
   * every execution of the run joins this trace. Null when it was enqueued with no trace context.
   */
  traceParent: string | null;
  createdAt: Date;
  startedAt: Date | null;
  cancelRequestedAt: Date | null;
  finalizedAt: Date | null;
  /** [batch] Its model calls go through the Message Batches API: as enqueued; null: the agent's `batch`. */
  batchMode: boolean | null;
  /** Agents as tools: the run whose tool call started this one (null for a run enqueued by a caller). */
  parentRunId: string | null;
  /** The parent's agentpg_tool_calls row this run answers. */
  parentToolCallId: string | null;
  /** 0 for a run enqueued by a caller, the parent's depth + 1 for a child run. */
  depth: number;
}

/** Agents as tools: a run's tokens with those of every run below it (its children, theirs, ...). */
export interface RunTotals {
  /** The run itself and its descendants. */
  runs: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

export interface Session {
  id: string;
  tenantId: string;
  identifier: string;
  agentName: string | null;
  parentSessionId: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSessionOptions {
  /** Create the session inside this open transaction of the caller's (see EnqueueOptions.db). */
  db?: CallerTransaction;
  tenantId: string;
  identifier: string;
  metadata?: Record<string, unknown>;
  parentSessionId?: string;
}

/** Double texting (src/runs/multitask.ts): what a new prompt does while its session has a run in flight. */
export type MultitaskStrategy = 'enqueue' | 'reject' | 'interrupt' | 'merge';

export interface EnqueueOptions {
  /** The same key on the same session returns the run created first (no second run, no second job). */
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  /**
   * Variables for the run's tools (ctx.context), e.g. the user's id or a feature flag: stored with
   * the run (a JSON object, at most 16 KiB), inherited by its child runs, never sent to the model.
   */
  context?: Record<string, unknown>;
  /**
   * What this prompt does while the session has a run in flight: `enqueue` (run after it),
   * `reject` (SessionBusyError), `interrupt` (cancel it, then run), `merge` (fold into the
   * session's queued run; its id is returned). Default: the agent's `multitaskStrategy`, else
   * `enqueue`. See src/runs/multitask.ts.
   */
  multitaskStrategy?: MultitaskStrategy;
  /**
   * Enqueue inside this open transaction of the caller's (a `pg` client after BEGIN, a drizzle
   * transaction, or a pg-boss `Db`): the run exists if and only if that transaction commits, and
   * workers are woken at its COMMIT. Not accepted by `agent.run()`, which waits for the run.
   */
  db?: CallerTransaction;
  /**
   * A W3C traceparent (`00-<trace id>-<span id>-<flags>`) to join instead of the active
   * OpenTelemetry context, e.g. one received in a request header. Malformed: ValidationError.
   */
  traceParent?: string;
  /**
   * [batch] Send this run's model calls through the Message Batches API (half the price, results
   * within 24 h; the run waits holding no worker): true or false. Default: the agent's `batch`.
   */
  batch?: boolean;
}

export interface RunResult {
  /** The text of the final assistant message. */
  text: string;
  run: Run;
}

export interface WaitOptions {
  /** Reject with WaitTimeoutError after this long (the run goes on). Default: wait forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What `runs.stream()` yields. Delivered by NOTIFY to a caller on any instance; a subscriber sees
 * the events sent after it subscribed (the stored messages hold the whole transcript).
 */
export type RunEvent =
  | { type: 'state'; state: RunState }
  | { type: 'text_delta'; text: string }
  | { type: 'tool_call'; toolUseId: string; name: string; input: unknown; truncated?: boolean }
  | { type: 'tool_result'; toolUseId: string; name: string; isError: boolean; output: string; truncated?: boolean }
  /** The run waits for a person to approve this call (client.approvals.decide); `deadline` ISO 8601. */
  | { type: 'approval_requested'; toolUseId: string; name: string; deadline: string }
  /** The session was compacted before the next model call (agentpg_compactions row `number`). */
  | {
      type: 'compaction';
      number: number;
      messagesArchived: number;
      tokensBefore: number;
      tokensAfter: number;
      strategy: string;
    }
  /** Agents as tools: a tool call of this run started a child run (its own events: runs.stream(childRunId)). */
  | { type: 'child_run_started'; toolUseId: string; name: string; childRunId: string }
  /** ...and the child ended (`state`); a `tool_result` event with its answer follows. */
  | { type: 'child_run_finished'; toolUseId: string; name: string; childRunId: string; state: RunState }
  /** A tool asked the user this (requestInput); the answer (client.inputs.answer) comes as its tool_result. */
  | {
      type: 'input_requested';
      toolUseId: string;
      name: string;
      question: string;
      deadline: string;
      truncated?: boolean;
    }
  | { type: 'end'; run: Run };

/** One stored message of a session (client.sessions.messages); here, not in sql/sessions.ts, so the
 * published declarations of the public types never import the drizzle schema. */
export interface StoredMessage {
  id: string;
  seq: number;
  runId: string | null;
  role: 'user' | 'assistant';
  content: any[];
  stopReason: string | null;
  inputTokens: number;
  outputTokens: number;
  createdAt: Date;
}
