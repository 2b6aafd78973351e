/**
 * Work over many shards or agents is split into statements of bounded size: on a lock session a
 * statement blocks that session's heartbeats and runs under its statement_timeout (a failed
 * statement gives up the whole session), so none may grow with the number of agents.
 */
export function slices<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

/** Lets timers (heartbeats, lease checks), IPC and the LISTEN connection run between chunks. */
export const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
