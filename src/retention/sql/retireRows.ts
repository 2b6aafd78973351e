import type { Queryable } from '../../db/queryable.js';
import type { RetiredCounts } from './retentionPasses.js';

/**
 * What a batch deletes of its sessions, table by table, in this order: tool calls, messages and
 * compactions first, then the runs (the delete trigger agentpg_runs_delete_children then finds
 * nothing left) and the sessions last, once nothing of theirs is left. With `archive` the same
 * statement moves each deleted row, whole (`to_jsonb`), into its agentpg_archive_* table under its
 * key, so a row is moved or stays, never both or neither.
 */
interface RetiredTable {
  /** The count of the pass row it adds to. */
  counts: keyof RetiredCounts;
  /** The DELETE of the sessions' rows ($1: the session ids), `returning` what `archive` reads. */
  delete: string;
  /** The archive table and its columns, then the SELECT of them from the deleted rows `g`. */
  archive: string;
}

/**
 * A table whose rows name their session in `column`: deleted by it (an index range per session),
 * archived under `keys`.
 */
function bySession(
  counts: keyof RetiredCounts,
  table: string,
  column: string,
  archiveTable: string,
  keys: string,
): RetiredTable {
  const selected = keys
    .split(', ')
    .map((k) => `g.${k}`)
    .join(', ');
  return {
    counts,
    delete: `delete from ${table} x where x.${column} = any($1::uuid[]) returning x.*`,
    archive: `${archiveTable} (${keys}, data) select ${selected}, to_jsonb(g)`,
  };
}

export const RETIRED_TABLES: readonly RetiredTable[] = [
  // Found through the runs, then agentpg_tool_calls_run_tool_use_idx; tool calls carry no
  // session_id, so the archive row takes the run's.
  {
    counts: 'toolCalls',
    delete: `delete from agentpg_tool_calls t using agentpg_runs r
              where r.session_id = any($1::uuid[]) and t.run_id = r.id
             returning t.*, r.session_id as retired_session_id`,
    archive: `agentpg_archive_tool_calls (id, session_id, run_id, data)
              select g.id, g.retired_session_id, g.run_id, to_jsonb(g) - 'retired_session_id'`,
  },
  // Every message (agentpg_messages_pkey), the messages a compaction archived included; the
  // compactions' summaries go with the messages they stood in for; then the runs
  // (agentpg_runs_session_idx: child runs in sessions that stay get parent_run_id null) and the
  // sessions (child sessions that stay get parent_session_id null).
  bySession('messages', 'agentpg_messages', 'session_id', 'agentpg_archive_messages', 'session_id, seq'),
  bySession('compactions', 'agentpg_compactions', 'session_id', 'agentpg_archive_compactions', 'session_id, number'),
  bySession('runs', 'agentpg_runs', 'session_id', 'agentpg_archive_runs', 'id, session_id'),
  bySession('sessions', 'agentpg_sessions', 'id', 'agentpg_archive_sessions', 'id, tenant_id'),
];

/** Deletes (with `archive`, moves) the sessions' rows of one table in ONE statement. Returns the rows deleted. */
export async function retireRows(
  db: Queryable,
  table: RetiredTable,
  sessionIds: string[],
  archive: boolean,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (${table.delete}),
     archived as (insert into ${table.archive} from gone g where $2::boolean)
     select count(*)::int as n from gone`,
    [sessionIds, archive],
  );
  return rows[0].n;
}
