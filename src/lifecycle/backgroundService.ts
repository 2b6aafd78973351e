import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { ReportError } from './reportError.js';

/** First retry delay after a failed tick, when the service does not set its own errorBackoff. */
export const ERROR_BACKOFF_BASE_MS = 1000;

export interface BackgroundServiceOptions {
  /** Names the service in error reports ("heartbeat", "run fetch"...). */
  name: string;
  /**
   * Time from the start of one tick to the start of the next (a tick that takes longer is followed
   * at once; ticks never overlap). Unset: the service ticks only when woken (a reconnect).
   */
  intervalMs?: number;
  /** One unit of work. A throw is reported and the loop carries on. */
  tick: () => Promise<void>;
  /** Where a failed tick goes (the client's reportError: logged with its stack, then onError). */
  reportError: ReportError;
  /**
   * Delay after consecutive failed ticks. Default: from min(1 s, interval) doubling up to the
   * interval, never beyond it: a service that slowed down while failing (the heartbeat) would make
   * its instance look dead once the cause is gone.
   */
  errorBackoff?: BackoffOptions;
}

/**
 * The start/stop of every background loop of agentpg (heartbeat, cleanup offers, ownership sweeps,
 * lock session heartbeats, the LISTEN probe and reconnect, the run worker's fetch and job touch),
 * so each one only says what a tick does and how often.
 *
 * - start(): ticks every `intervalMs` (the first one an interval after start; wake() for one now).
 * - wake(): a tick now, or right after the one in flight (never two at once, wakes coalesce);
 *   resolves when that tick is done.
 * - stop(): no tick starts after it; waits for the one in flight. Idempotent.
 * - a tick that throws is reported (reportError, with its stack) and the loop goes on, after a
 *   backoff while the failures last.
 */
export class BackgroundService {
  readonly name: string;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private rerun = false;
  private failures = 0;
  private readonly errorBackoff: BackoffOptions;

  constructor(private readonly o: BackgroundServiceOptions) {
    this.name = o.name;
    const cap = o.intervalMs ?? 30_000;
    this.errorBackoff = o.errorBackoff ?? { baseMs: Math.min(ERROR_BACKOFF_BASE_MS, cap), maxMs: cap };
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Consecutive failed ticks (0 after a tick that succeeded). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    // A loop still finishing from before a stop() schedules the next tick when it ends.
    if (!this.loop) this.schedule(Date.now());
  }

  wake(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.loop) {
      this.rerun = true;
      return this.loop;
    }
    this.clearTimer();
    // Ticks run in the root OpenTelemetry context, never in the caller's: a wake() from inside a
    // traced operation (an enqueue wakes the fetch loop) would otherwise make that tick, and every
    // timer it schedules after it, part of that operation's trace forever. No-op without an SDK.
    this.loop = context.with(ROOT_CONTEXT, () => this.runTicks());
    return this.loop;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer();
    await this.loop;
  }

  /** Ticks until no wake() came in meanwhile, then schedules the next one. Never rejects. */
  private async runTicks(): Promise<void> {
    let startedAt = Date.now();
    try {
      do {
        this.rerun = false;
        startedAt = Date.now();
        try {
          await this.o.tick();
          this.failures = 0;
        } catch (err) {
          this.failures++;
          this.o.reportError(err, this.name);
        }
      } while (this.rerun && this.running);
    } finally {
      this.loop = null;
      this.schedule(startedAt);
    }
  }

  private schedule(lastStartedAt: number): void {
    if (!this.running) return;
    let delay: number;
    if (this.failures > 0) delay = backoffDelay(this.failures, this.errorBackoff);
    else if (this.o.intervalMs === undefined) return;
    else delay = Math.max(0, lastStartedAt + this.o.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.wake();
    }, delay);
    // Background loops never keep a process alive on their own.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
