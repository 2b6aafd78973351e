import type { RunState, ToolCallState } from '../db/schema/runs.js';

export type { RunState, ToolCallState };

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
  metadata: Record<string, unknown>;
  createdAt: Date;
  startedAt: Date | null;
  cancelRequestedAt: Date | null;
  finalizedAt: Date | null;
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
  tenantId: string;
  identifier: string;
  metadata?: Record<string, unknown>;
  parentSessionId?: string;
}

export interface EnqueueOptions {
  /** The same key on the same session returns the run created first (no second run, no second job). */
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
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
  | { type: 'end'; run: Run };
