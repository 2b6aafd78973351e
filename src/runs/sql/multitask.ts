import type { Queryable } from '../../db/queryable.js';

/** An unfinished run of a session, oldest first (for the multitask strategies). */
export interface RunInFlight {
  id: string;
  sessionId: string;
  state: string;
  /** Never claimed: its prompt is not a message yet, so a merge can still change it. */
  neverStarted: boolean;
}

/**
 * The unfinished runs (queued, running, awaiting_input) of these sessions, oldest first per
 * session, ONE statement (agentpg_runs_session_idx). Called inside the enqueue transaction after
 * lockSessionsForEnqueue, so no other enqueue of these sessions commits meanwhile.
 */
export async function runsInFlight(tx: Queryable, sessionIds: string[]): Promise<Map<string, RunInFlight[]>> {
  const { rows } = await tx.query<{ id: string; session_id: string; state: string; started_at: Date | null }>(
    `select id, session_id, state, started_at from agentpg_runs
      where session_id = any($1::uuid[]) and finalized_at is null
      order by session_id, created_at, id`,
    [sessionIds],
  );
  const out = new Map<string, RunInFlight[]>();
  for (const r of rows) {
    const list = out.get(r.session_id) ?? [];
    list.push({ id: r.id, sessionId: r.session_id, state: r.state, neverStarted: r.started_at === null });
    out.set(r.session_id, list);
  }
  return out;
}

/**
 * Folds a prompt into a queued run that never started (its prompt is stored as a message only at
 * its first claim), ONE guarded UPDATE: the claim (fetchAndClaimRuns) locks the same row, so either the
 * claim sees the merged prompt or this update no longer matches (`started_at is null`) and the
 * caller enqueues a run of its own. Returns whether it merged.
 */
export async function mergePrompt(tx: Queryable, runId: string, prompt: string, maxBytes: number): Promise<boolean> {
  const res = await tx.query(
    `update agentpg_runs set prompt = prompt || E'\\n\\n' || $2
      where id = $1 and state = 'queued' and started_at is null and cancel_requested_at is null
        and octet_length(prompt) + octet_length($2) + 2 <= $3`,
    [runId, prompt, maxBytes],
  );
  return (res.rowCount ?? 0) > 0;
}
