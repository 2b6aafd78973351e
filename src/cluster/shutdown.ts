import type { Logger } from '../logger.js';

/**
 * Graceful shutdown, as client.stop() runs it:
 *
 *   t=0   stop taking new work: the cleanup worker and the runs worker stop fetching.
 *         Long-running agents are handed over at once (the ownership module releases them).
 *   t≤T   in-flight runs finish, up to shutdownTimeoutMs (T). The runs module's drain(T) waits,
 *         then hands every unfinished run back to the queue WITHOUT failing it, so another
 *         instance resumes it (pg-boss's own stop() would fail active jobs "pg-boss shut down
 *         while active"; that must never be what happens to a run).
 *   then  the heartbeat stops and the instance row is deleted (links cascade). Deregistering
 *         only after the drain matters: an instance that vanished while still executing would
 *         have its runs handed back by a survivor's cleanup pass and run twice.
 *   last  the LISTEN connection, pg-boss and the pool are closed.
 *
 * Each step runs through `stopStep`, so one failing step is reported and the rest still run:
 * an error while draining must never skip deregistration or leave connections open.
 */
export async function stopStep(
  name: string,
  fn: () => unknown,
  logger: Logger,
  reportError: (err: unknown, context?: string) => void,
  timeoutMs?: number,
): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = Promise.resolve().then(fn);
    if (timeoutMs === undefined) await work;
    else {
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      if ((await Promise.race([work, timedOut])) === 'timeout') {
        work.catch((err) => reportError(err, `shutdown: ${name} (after its timeout)`));
        throw new Error(`shutdown step "${name}" did not finish within ${timeoutMs} ms`);
      }
    }
    logger.debug({ step: name, ms: Date.now() - started }, 'shutdown step done');
  } catch (err) {
    reportError(err, `shutdown: ${name}`);
  } finally {
    clearTimeout(timer);
  }
}
