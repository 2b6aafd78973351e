import type { Logger } from '../logger.js';
import { errorForLog } from '../lifecycle/reportError.js';

export interface SignalHandlerOptions {
  logger?: Logger;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /**
   * Exit the process once stop() finished (code 0, or 1 if it threw). Default true. With false,
   * only stop() is called.
   */
  exit?: boolean;
  /**
   * Hard bound: exit with code 1 if stop() has not finished this long after the signal.
   * Default: the client's shutdownTimeoutMs + 5 s (Kubernetes' grace period should be longer).
   */
  forceExitAfterMs?: number;
}

/**
 * The same signal again within this long is the same press delivered twice, not a second press:
 * Ctrl-C signals the terminal's whole process group, and a wrapper in it (`npm start` runs tsx,
 * which relays signals to its child) passes it on as well, ~35 ms later here. Counted as a second
 * press, it made every Ctrl-C of `npm start` an immediate, ungraceful exit.
 */
export const DUPLICATE_SIGNAL_WINDOW_MS = 500;

interface Stoppable {
  stop(): Promise<void>;
  readonly config?: { shutdownTimeoutMs?: number };
}

/**
 * Wires SIGTERM/SIGINT to a graceful `client.stop()` and then process exit. A second signal while
 * stopping exits at once (code 130), the usual "press Ctrl-C twice", unless it is the first one
 * again (DUPLICATE_SIGNAL_WINDOW_MS). Returns a function that removes the handlers.
 */
export function installSignalHandlers(client: Stoppable, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? true;
  const forceAfter = options.forceExitAfterMs ?? (client.config?.shutdownTimeoutMs ?? 25_000) + 5_000;
  let stopping: { signal: NodeJS.Signals; at: number } | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === stopping.signal && Date.now() - stopping.at < DUPLICATE_SIGNAL_WINDOW_MS) return;
      options.logger?.warn({ signal }, 'second signal while stopping: exiting now');
      if (exit) process.exit(130);
      return;
    }
    stopping = { signal, at: Date.now() };
    options.logger?.info({ signal }, 'signal received: stopping');
    const force = setTimeout(() => {
      options.logger?.error({ signal, forceAfter }, 'stop() did not finish in time: exiting');
      if (exit) process.exit(1);
    }, forceAfter);
    force.unref();
    client.stop().then(
      () => {
        clearTimeout(force);
        options.logger?.info({ signal }, 'stopped');
        if (exit) process.exit(0);
      },
      (err: unknown) => {
        clearTimeout(force);
        options.logger?.error({ signal, err: errorForLog(err) }, 'stop failed');
        if (exit) process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
