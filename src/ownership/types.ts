/**
 * A kind of long-running agent (seed 004: a trading loop, a watcher). The handler runs until its
 * signal aborts; it reads its saved state and saves checkpoints through `ctx`.
 * (Filled in by the ownership module.)
 */
export interface LongRunningKind<C = any> {
  kind: string;
  handler(ctx: LongRunningContext<C>): Promise<void>;
}

export interface LongRunningContext<C = any> {
  agentId: string;
  config: C;
  /** The checkpoint saved last, or null. */
  checkpoint: unknown;
  /** The fencing epoch of this ownership. */
  epoch: number;
  /** Aborted when ownership is lost, the agent is stopped, or the instance shuts down. */
  signal: AbortSignal;
  /** Saves a checkpoint; fails with a StaleOwnerError if this instance no longer owns the agent. */
  saveCheckpoint(checkpoint: unknown): Promise<void>;
}
