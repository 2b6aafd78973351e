import type { Queryable } from '../../db/queryable.js';

/** What one batch (or a whole pass) retired. */
export interface RetiredCounts {
  sessions: number;
  runs: number;
  messages: number;
  toolCalls: number;
  compactions: number;
}

/** Records the start of a pass (its own autocommit, before any batch). A retried job reuses its row. */
export async function beginRetentionPass(
  db: Queryable,
  pass: { jobId: string | null; instanceId: string; mode: 'delete' | 'archive' },
): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `insert into agentpg_retention_passes (job_id, instance_id, mode) values ($1, $2, $3)
     on conflict (job_id) do update set instance_id = excluded.instance_id, finished_at = null, error = null
     returning id`,
    [pass.jobId, pass.instanceId, pass.mode],
  );
  return Number(rows[0].id);
}

/** Adds one batch's counts to its pass, in the batch's transaction: durable exactly with the batch. */
export async function recordRetentionBatch(db: Queryable, passId: number, c: RetiredCounts): Promise<void> {
  await db.query(
    `update agentpg_retention_passes
        set batches = batches + 1, sessions = sessions + $2, runs = runs + $3, messages = messages + $4,
            tool_calls = tool_calls + $5, compactions = compactions + $6
      where id = $1`,
    [passId, c.sessions, c.runs, c.messages, c.toolCalls, c.compactions],
  );
}

/** Records the end of a pass (its own autocommit). */
export async function finishRetentionPass(db: Queryable, passId: number, error: string | null): Promise<void> {
  await db.query(`update agentpg_retention_passes set finished_at = now(), error = $2 where id = $1`, [passId, error]);
}

/** Keeps the pass log bounded (agentpg_retention_passes_started_idx). */
export async function pruneRetentionPasses(db: Queryable, keepMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `delete from agentpg_retention_passes where started_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [keepMs],
  );
  return rowCount ?? 0;
}
