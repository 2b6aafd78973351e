import type { OwnershipMetrics } from './types.js';

/** Plain in-memory counters and gauges (OwnershipMetrics); the service exports them to Prometheus. */
export type OwnershipMetricsState = OwnershipMetrics;

export function newMetrics(): OwnershipMetricsState {
  return {
    agents_restored_total: 0,
    agents_restore_failed_total: 0,
    agent_restore_duration_seconds_sum: 0,
    agent_restore_duration_seconds_count: 0,
    agent_restore_duration_seconds_last: 0,
    agent_lock_acquire_total: 0,
    agent_lock_acquire_failed_total: 0,
    agent_lock_held: 0,
    agent_lock_lost_total: 0,
    agents_running: 0,
    agent_restarts_total: 0,
    agent_stale_writes_total: 0,
    lock_sessions: 0,
    shutdown_duration_seconds: 0,
    agents_saved_on_shutdown: 0,
    agents_failed_total: 0,
  };
}

export function observeRestore(m: OwnershipMetricsState, seconds: number): void {
  m.agent_restore_duration_seconds_sum += seconds;
  m.agent_restore_duration_seconds_count++;
  m.agent_restore_duration_seconds_last = seconds;
}
