import type pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * A kind of long-running agent (a trading loop, a watcher). The handler runs until its
 * signal aborts; it reads its saved state and saves checkpoints through `ctx`.
 *
 * - A handler that throws is restarted with exponential backoff (restart_count + 1, last_error),
 *   until it failed more than `ownership.maxRestarts` times within `ownership.restartWindowMs`:
 *   then the agent is set inactive and failed (see LongRunningAgentInfo.state).
 * - A handler that returns while its signal is not aborted has finished: the agent is set
 *   inactive (like `longRunning.stop(id)`).
 * - After the signal aborts, a handler should save a last checkpoint and return promptly; the
 *   owner waits for it (bounded) before it hands the agent over.
 */
export interface LongRunningKind<C = any> {
  kind: string;
  handler(ctx: LongRunningContext<C>): Promise<void>;
}

/** Why a handler's signal was aborted. */
export type AbortReason =
  /** `longRunning.stop(id)` or the agent was deactivated. */
  | 'stopped'
  /** The instance is shutting down (client.stop()). */
  | 'shutdown'
  /** Rebalancing: this instance sheds agents to a joining instance. */
  | 'rebalance'
  /** The lock session was lost or its lease ran out: ownership cannot be proven any more. */
  | 'lost'
  /** A fenced write was rejected: another owner has a higher epoch. */
  | 'stale';

export interface LongRunningContext<C = any> {
  agentId: string;
  kind: string;
  config: C;
  /** The checkpoint saved last, or null. */
  checkpoint: unknown;
  /** The fencing epoch of this ownership. */
  epoch: number;
  /** Which instance runs the handler. */
  instanceId: string;
  /** Aborted when ownership is lost, the agent is stopped, or the instance shuts down. */
  signal: AbortSignal;
  /** Why `signal` aborted (null while it has not). */
  readonly abortReason: AbortReason | null;
  /** How often the handler was restarted after throwing (all owners, from the table). */
  restartCount: number;
  logger: Logger;
  /** Saves a checkpoint; fails with a StaleOwnerError if this instance no longer owns the agent. */
  saveCheckpoint(checkpoint: unknown): Promise<void>;
  /**
   * Runs `fn` in a transaction that first locks the agent's row and checks the epoch: the
   * handler's own rows written through `client` commit only while this ownership is current, and
   * a new owner's acquisition waits for the transaction. Throws StaleOwnerError (and aborts the
   * handler) if the epoch moved on. Keep it short: the server ends the transaction if it stays
   * idle longer than the client lease.
   */
  fenced<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

/** Tuning of the ownership manager (`new AgentPG({ ownership: {...} })`). Durations are ms. */
export interface OwnershipOptions {
  /**
   * Number of lock shards, created by the first instance that starts (ids 0..n-1). Raising it
   * later adds shards for new agents; existing agents keep theirs; it never shrinks. Default 1024.
   */
  shards?: number;
  /** Hard cap of advisory locks on one lock session (connection). Default 256, at most 1024. */
  maxLocksPerSession?: number;
  /** A heartbeat on every lock session this often. Default 1000. */
  heartbeatIntervalMs?: number;
  /** Client lease: handlers are aborted this long after the last proven heartbeat. Default 4000. */
  clientLeaseMs?: number;
  /** Server lease: `idle_session_timeout` of the lock sessions. Default 8000. */
  serverLeaseMs?: number;
  /** Orphaned-shard sweep and rebalance tick. Default 500. */
  sweepIntervalMs?: number;
  /** Full re-read of the desired state of owned agents (NOTIFY does it sooner). Default 5000. */
  reconcileIntervalMs?: number;
  /** First restart delay after a handler throws; doubles up to restartBackoffMaxMs. Default 1000. */
  restartBackoffMs?: number;
  /** Default 60000. */
  restartBackoffMaxMs?: number;
  /**
   * Give-up policy: a handler that throws more than `maxRestarts` times within `restartWindowMs`
   * is not restarted again: the agent becomes inactive with `state: 'failed'` and its last error,
   * and `onLongRunningAgentFailed` fires. With the default backoff, 10 failures in a row take about
   * 5 minutes. Default 10.
   */
  maxRestarts?: number;
  /** The window `maxRestarts` is counted in. Default 600000 (10 min). */
  restartWindowMs?: number;
  /** How long a shed or stopped agent's handler may take to return before the hand-over goes on. Default 10000. */
  handoffTimeoutMs?: number;
  /** Ownership log rows released longer ago than this are pruned. Default 7 days. */
  logRetentionMs?: number;
}

export type ResolvedOwnershipOptions = Required<OwnershipOptions>;

/** What `onLongRunningAgentFailed` receives when an owner gives up on an agent. */
export interface LongRunningAgentFailure {
  agentId: string;
  kind: string;
  /** The epoch of the ownership that gave up. */
  epoch: number;
  /** Restarts recorded for the agent (all owners). */
  restartCount: number;
  /** The last error, redacted, as stored in last_error. */
  lastError: string;
}

/** A long-running agent as stored (`client.longRunning.get/list`). */
export interface LongRunningAgentInfo {
  id: string;
  kind: string;
  /** Desired state: should it run? */
  active: boolean;
  /**
   * `active`: it should run (and does, once an owner has it); `stopped`: stopped, finished, or
   * created with `start: false`; `failed`: its handler kept throwing and the owner gave up
   * (`lastError` says why). `longRunning.start(id)` makes a stopped or failed agent active again.
   */
  state: 'active' | 'stopped' | 'failed';
  /** When the owner gave up on it (state `failed`), else null. */
  failedAt: Date | null;
  shard: number;
  /** The instance running it (null: nobody right now). */
  ownerInstanceId: string | null;
  /** Fencing epoch: +1 on every acquisition. */
  epoch: number;
  checkpoint: unknown;
  config: Record<string, unknown>;
  restartCount: number;
  lastError: string | null;
  lastActivityAt: Date | null;
  ownedSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Ownership metrics of one instance as plain numbers (the service turns them into Prometheus metrics).
 * `agent_lock_*` count SHARD locks: agents follow their shard.
 */
export interface OwnershipMetrics {
  agents_restored_total: number;
  agents_restore_failed_total: number;
  agent_restore_duration_seconds_sum: number;
  agent_restore_duration_seconds_count: number;
  agent_restore_duration_seconds_last: number;
  agent_lock_acquire_total: number;
  agent_lock_acquire_failed_total: number;
  agent_lock_held: number;
  agent_lock_lost_total: number;
  agents_running: number;
  agent_restarts_total: number;
  agent_stale_writes_total: number;
  lock_sessions: number;
  shutdown_duration_seconds: number;
  agents_saved_on_shutdown: number;
  /** Agents this instance gave up on (maxRestarts within restartWindowMs): now `failed`. */
  agents_failed_total: number;
}
