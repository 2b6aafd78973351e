-- agentpg_messages and agentpg_tool_calls have no foreign keys any more (src/db/schema/runs.ts
-- says why). Deleting a run or a session still deletes its messages and tool calls: these
-- statement-level triggers do what ON DELETE CASCADE did, inside the deleting statement's
-- transaction. Runs are still deleted with their session by the agentpg_runs → agentpg_sessions
-- foreign key, whose cascade fires agentpg_runs_delete_children.
CREATE OR REPLACE FUNCTION agentpg_runs_delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agentpg_tool_calls t WHERE t.run_id IN (SELECT d.id FROM deleted_runs d);
  -- By session first: agentpg_messages_session_seq_idx finds the rows.
  DELETE FROM agentpg_messages m
   WHERE m.session_id IN (SELECT d.session_id FROM deleted_runs d)
     AND m.run_id IN (SELECT d.id FROM deleted_runs d);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_delete_children
  AFTER DELETE ON agentpg_runs
  REFERENCING OLD TABLE AS deleted_runs
  FOR EACH STATEMENT EXECUTE FUNCTION agentpg_runs_delete_children();
--> statement-breakpoint
-- Messages of a deleted session that belong to no run (run_id null) go with the session too.
CREATE OR REPLACE FUNCTION agentpg_sessions_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agentpg_messages m WHERE m.session_id IN (SELECT d.id FROM deleted_sessions d);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_sessions_delete_messages
  AFTER DELETE ON agentpg_sessions
  REFERENCING OLD TABLE AS deleted_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION agentpg_sessions_delete_messages();
--> statement-breakpoint
-- No BEFORE UPDATE row trigger on agentpg_runs: PostgreSQL locks the row before running one, on
-- EVERY update of the table (whatever the trigger's column list), and WAL-logs that lock (a
-- Heap/LOCK record, sometimes a MultiXact too): ~150 B per run. So the transition guard of
-- run_state_machine fires AFTER the update instead (its exception aborts the statement just the
-- same), and every statement that changes a run's state sets state_changed_at itself. Event
-- catch-up reads unfinished runs by state_changed_at (set at INSERT by its default, at the claim
-- by claimRuns) and finished runs by finalized_at, which agentpg_runs_finalized_check makes every
-- terminal run carry: a statement that forgets state_changed_at cannot hide a run from it.
DROP TRIGGER agentpg_runs_state_changed_at ON agentpg_runs;
--> statement-breakpoint
DROP FUNCTION agentpg_runs_touch_state_changed_at();
--> statement-breakpoint
DROP TRIGGER agentpg_runs_guard_transition ON agentpg_runs;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_guard_transition
  AFTER UPDATE OF state ON agentpg_runs
  FOR EACH ROW EXECUTE FUNCTION agentpg_runs_guard_transition();
--> statement-breakpoint
-- The operator views find unfinished runs through agentpg_runs_active_idx, which a query uses
-- only when it says `finalized_at is null`.
CREATE OR REPLACE VIEW agentpg_stale_instances AS
SELECT i.id, i.hostname, i.pid, i.version, i.last_heartbeat_at,
       now() - i.last_heartbeat_at AS heartbeat_age,
       (SELECT count(*) FROM agentpg_runs r
         WHERE r.instance_id = i.id AND r.state = 'running' AND r.finalized_at IS NULL) AS running_runs
FROM agentpg_instances i
WHERE i.last_heartbeat_at < now() - interval '2 minutes';
--> statement-breakpoint
CREATE OR REPLACE VIEW agentpg_stuck_runs AS
SELECT r.id, r.session_id, r.agent_name, r.tenant_id, r.instance_id, r.started_at,
       now() - r.started_at AS running_for, r.attempts,
       (i.id IS NULL) AS instance_gone
FROM agentpg_runs r
LEFT JOIN agentpg_instances i ON i.id = r.instance_id
WHERE r.state = 'running' AND r.finalized_at IS NULL AND r.started_at < now() - interval '1 hour';
