-- What the soak benchmark (`npm run bench -- --only soak`: 1,000,000 finished runs, their sessions,
-- messages and tool calls) found against the same measures on near-empty tables.
--
-- 1. WAL per run ×7 (28.5 KB vs 4.1 KB), all of it full-page images: 4.2 per run vs 0.03. Once a
--    table outgrows memory, a row or index entry written at a random place is nearly always the
--    first change to its page since the last checkpoint, and PostgreSQL logs that page whole.
--    a) Random UUIDs put every new run on a random leaf of agentpg_runs_pkey, and every new
--       session on random leaves of its own primary key, agentpg_runs_session_idx and
--       agentpg_messages_pkey. Time-ordered ids (UUID version 7: 48-bit Unix milliseconds, then
--       random bits; PostgreSQL 15 has no uuidv7(), hence this function) put them next to the
--       other new entries, on pages the last minutes already touched. 74 random bits remain: an
--       id is no easier to guess, it only tells when the row was made. Measured after: index
--       images 0.008 per run and index; the remaining 3 per run are heap pages whose leftover
--       space a whole-table VACUUM had just recorded (README, Performance), not an index matter.
CREATE OR REPLACE FUNCTION agentpg_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1), -- version 4 → 7 (0100 → 0111)
    'hex')::uuid
$$;
--> statement-breakpoint
ALTER TABLE "agentpg_runs" ALTER COLUMN "id" SET DEFAULT agentpg_uuidv7();
--> statement-breakpoint
ALTER TABLE "agentpg_sessions" ALTER COLUMN "id" SET DEFAULT agentpg_uuidv7();
--> statement-breakpoint
-- 2. agentpg_pending_approvals (migration approvals) found its rows by `approval = 'pending'` on
-- agentpg_tool_calls, which no index names (an index on a column a tool call's decision changes
-- would make that update non-HOT), so every read scanned the whole table: with a year of finished
-- runs (bench `--only soak`, 400,000 tool calls) that is the whole table read for the handful of
-- calls that wait. A call can wait only while its run is unfinished, so the view now starts from the
-- unfinished runs (`finalized_at is null`: agentpg_runs_active_idx) and reaches their calls by
-- the run_id prefix of agentpg_tool_calls_run_tool_use_idx, as agentpg_waits does. It also stops
-- listing the undecided call of a run that was cancelled or failed while it waited: nobody can
-- decide it any more.
CREATE OR REPLACE VIEW agentpg_pending_approvals AS
SELECT r.id AS run_id, r.session_id, r.tenant_id, r.agent_name, r.state AS run_state,
       t.tool_use_id, t.tool_name, t.input, t.created_at AS requested_at, t.approval_deadline,
       now() - t.created_at AS waiting_for
  FROM agentpg_tool_calls t JOIN agentpg_runs r ON r.id = t.run_id
 WHERE r.finalized_at IS NULL -- (agentpg_runs_active_idx)
   AND t.approval = 'pending' AND t.state = 'pending'
 ORDER BY t.created_at;
