/** How a retry delay grows: doubles from `baseMs` up to `maxMs`, then shortened by up to `jitter` of itself. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /**
   * Fraction of the delay taken off at random (0..1). 0.5 ("equal jitter") by default, so instances
   * that failed together (the database restarted) do not all retry at the same moment; 0 when the
   * delay is documented exactly (a long-running handler's restart delay).
   */
  jitter?: number;
}

/**
 * The one retry delay of agentpg: exponential with a cap and jitter. `attempt` counts failures so
 * far, from 1: attempt 1 waits about `baseMs`, attempt n about `baseMs × 2^(n-1)`, never more than
 * `maxMs`, never less than `(1 - jitter)` of that.
 */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const jitter = Math.min(1, Math.max(0, o.jitter ?? 0.5));
  // The exponent is bounded so a long outage never overflows to Infinity before the cap applies.
  const exponential = o.baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 52);
  const capped = Math.min(o.maxMs, exponential);
  return capped * (1 - jitter * Math.random());
}
