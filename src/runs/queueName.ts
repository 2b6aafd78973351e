// The queue's name on its own: it is public API (src/index.ts), and queue.ts, which holds the
// queue's pg-boss options, would make the published declarations import pg-boss.

/** The one pg-boss queue every run's job goes through. */
export const RUNS_QUEUE = 'agentpg_runs';
