import type { Queryable } from '../../db/queryable.js';
import type { RetiredCounts } from './retentionPasses.js';

export interface RetentionStatus {
  /** The newest pass of the cluster, or null. */
  lastPass: {
    instanceId: string;
    startedAt: Date;
    finishedAt: Date | null;
    error: string | null;
    retired: RetiredCounts;
  } | null;
  /** Retired by every pass of the last 24 hours (the pass log keeps longer). */
  retiredLastDay: RetiredCounts;
}

/** The cluster's retention status for /readyz and /metrics: one statement over the pass log. */
export async function retentionStatus(db: Queryable): Promise<RetentionStatus> {
  const { rows } = await db.query<{
    last: {
      instance_id: string;
      started_at: string;
      finished_at: string | null;
      error: string | null;
      sessions: number;
      runs: number;
      messages: number;
      tool_calls: number;
      compactions: number;
    } | null;
    sessions: number;
    runs: number;
    messages: number;
    tool_calls: number;
    compactions: number;
  }>(
    `select (select to_jsonb(p) from agentpg_retention_passes p order by started_at desc limit 1) as last,
            coalesce(sum(sessions), 0)::int as sessions, coalesce(sum(runs), 0)::int as runs,
            coalesce(sum(messages), 0)::int as messages, coalesce(sum(tool_calls), 0)::int as tool_calls,
            coalesce(sum(compactions), 0)::int as compactions
       from agentpg_retention_passes where started_at > now() - interval '24 hours'`,
  );
  const r = rows[0];
  const counts = (c: typeof r | NonNullable<typeof r.last>): RetiredCounts => ({
    sessions: c.sessions,
    runs: c.runs,
    messages: c.messages,
    toolCalls: c.tool_calls,
    compactions: c.compactions,
  });
  return {
    lastPass: r.last
      ? {
          instanceId: r.last.instance_id,
          startedAt: new Date(r.last.started_at),
          finishedAt: r.last.finished_at ? new Date(r.last.finished_at) : null,
          error: r.last.error,
          retired: counts(r.last),
        }
      : null,
    retiredLastDay: counts(r),
  };
}
