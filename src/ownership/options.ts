import { ConfigError } from '../errors.js';
import type { OwnershipOptions, ResolvedOwnershipOptions } from './types.js';

/**
 * THE LOCK BUDGET (measured on PostgreSQL 15 with default settings, see shared NOTES.md)
 *
 *   Postgres keeps every advisory lock of the whole server in ONE shared lock table, sized about
 *   max_locks_per_transaction × (max_connections + max_prepared_transactions) = 64 × (100 + 0);
 *   with its slack one session took exactly 12,784 locks before `out of shared memory` hit every
 *   session of the server. Each statement on a session also costs time in proportion to the locks
 *   that session holds (SELECT 1: 0.28 ms at 1,000 locks, 1.23 ms at 10,000).
 *
 *   So agentpg locks SHARDS, not agents. Every agent belongs to one of S shards (S = `shards`,
 *   default 1024; shard = insertion number % S, so agents spread evenly) and is run by whichever
 *   instance holds its shard's lock:
 *
 *     locks held by agentpg, whole cluster, per database  = S            (1,024 by default)
 *     ... for 100,000 agents                               = S            (≈ 98 agents per shard)
 *     share of the measured 12,784-entry table             = 1,024 / 12,784 ≈ 8 %
 *     locks on one lock session                          <= L = maxLocksPerSession (1024, cap 1024)
 *     per-statement overhead at L = 1024                   ≈ 0.28 ms (0.07 ms at 256)
 *     lock sessions (connections) of one instance          = max(1, ceil(shards it holds / L))
 *                                                            (1, even when a lone instance holds 1024)
 *
 *   L defaults to the default shard count, so one lock session always suffices: a connection
 *   costs more than 0.2 ms on the few statements a lock session runs (a heartbeat a second, the
 *   claims and hand-overs). That session is the instance's liveness session (src/cluster/liveness.ts),
 *   which never LISTENs, so NOTIFY processing does not pay it.
 *
 *   A session never try-locks a key it already holds (locks stack), and a failed try-lock costs
 *   nothing. Keys use the two-int4 form (NAMESPACE, shard): other advisory-lock users of the
 *   database are safe as long as they do not use classid NAMESPACE, and no key is a hash.
 *
 * THE LEASE INEQUALITY
 *
 *   heartbeatIntervalMs + clientLeaseMs < serverLeaseMs
 *
 *   A lock session runs a heartbeat every heartbeatIntervalMs. The client lease is counted from the
 *   moment the last successful statement was handed to the driver; the server cannot have gone
 *   idle on that statement earlier. The server lease is `idle_session_timeout` on that session
 *   only: whatever the network does, the server ends the session (and frees its locks) no sooner
 *   than serverLeaseMs after it last went idle. The owner aborts its handlers when the client lease
 *   runs out, and even if that is noticed one heartbeat late it is strictly before the server can
 *   free the lock: the old owner gives up before anyone else can take over. The rest of the
 *   margin (3 s by default) absorbs event-loop stalls. Defaults: 1 s + 4 s < 8 s.
 */
export const LOCK_NAMESPACE = 0x61677067; // "agpg": classid of every agentpg shard lock

const DEFAULTS: ResolvedOwnershipOptions = {
  shards: 1024,
  maxLocksPerSession: 1024,
  heartbeatIntervalMs: 1000,
  clientLeaseMs: 4000,
  serverLeaseMs: 8000,
  sweepIntervalMs: 500,
  reconcileIntervalMs: 5000,
  restartBackoffMs: 1000,
  restartBackoffMaxMs: 60_000,
  maxRestarts: 10,
  restartWindowMs: 10 * 60_000,
  handoffTimeoutMs: 10_000,
  logRetentionMs: 7 * 24 * 3600_000,
};

/** Fills in defaults and refuses unsafe combinations with a ConfigError naming the field. */
export function resolveOwnershipOptions(input: OwnershipOptions | undefined): ResolvedOwnershipOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw new ConfigError('invalid config: ownership must be an object');
  }
  const o: ResolvedOwnershipOptions = { ...DEFAULTS };
  for (const [key, value] of Object.entries(input ?? {})) {
    if (!(key in DEFAULTS)) throw new ConfigError(`invalid config: ownership.${key} is not a known option`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ConfigError(`invalid config: ownership.${key} must be a positive integer`);
    }
    (o as unknown as Record<string, number>)[key] = value;
  }
  if (o.shards > 1_000_000) throw new ConfigError('invalid config: ownership.shards must be at most 1000000');
  if (o.maxLocksPerSession > 1024) {
    throw new ConfigError(
      'invalid config: ownership.maxLocksPerSession must be at most 1024 (each lock slows every statement of its session)',
    );
  }
  if (o.clientLeaseMs < 2 * o.heartbeatIntervalMs) {
    throw new ConfigError(
      'invalid config: ownership.clientLeaseMs must be at least 2 × heartbeatIntervalMs, or one slow heartbeat drops ownership',
    );
  }
  if (o.heartbeatIntervalMs + o.clientLeaseMs >= o.serverLeaseMs) {
    throw new ConfigError(
      `invalid config: ownership lease inequality violated: heartbeatIntervalMs (${o.heartbeatIntervalMs}) + clientLeaseMs (${o.clientLeaseMs}) must be < serverLeaseMs (${o.serverLeaseMs}), or a cut-off owner could still act after another instance took over`,
    );
  }
  return o;
}
