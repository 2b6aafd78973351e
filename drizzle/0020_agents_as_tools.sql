ALTER TABLE "agentpg_runs" ADD COLUMN "parent_run_id" uuid;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "parent_tool_call_id" uuid;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "depth" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD CONSTRAINT "agentpg_runs_parent_run_id_agentpg_runs_id_fk" FOREIGN KEY ("parent_run_id") REFERENCES "public"."agentpg_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_runs_parent_tool_call_idx" ON "agentpg_runs" USING btree ("parent_tool_call_id") WHERE "agentpg_runs"."parent_tool_call_id" is not null;--> statement-breakpoint
CREATE INDEX "agentpg_runs_parent_idx" ON "agentpg_runs" USING btree ("parent_run_id") WHERE "agentpg_runs"."parent_run_id" is not null;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD CONSTRAINT "agentpg_runs_parent_check" CHECK (("agentpg_runs"."parent_tool_call_id" is null and "agentpg_runs"."depth" = 0) or ("agentpg_runs"."parent_tool_call_id" is not null and "agentpg_runs"."depth" >= 1));--> statement-breakpoint
-- Agents as tools (issue 14, src/runs/childRuns.ts). An agent lists other agents as tools; a call
-- of one starts a child run (parent_run_id, parent_tool_call_id, depth) in a child session, and the
-- parent waits in `awaiting_input` holding no worker. The child's end is delivered to the parent by
-- the trigger below, in the transaction of the child's final UPDATE, whichever statement made it
-- (the executor's finalize, a cancel of a queued child, the cleanup's timeout): never a lost result.

-- The run state NOTIFY (migration run_state_machine) again, with the parent fields.
CREATE OR REPLACE FUNCTION agentpg_runs_notify_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.state IS NOT DISTINCT FROM OLD.state THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('agentpg_run_state_changed', json_build_object(
    'run_id', NEW.id,
    'session_id', NEW.session_id,
    'agent_name', NEW.agent_name,
    'tenant_id', NEW.tenant_id,
    'state', NEW.state,
    'previous_state', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
    'instance_id', NEW.instance_id,
    'parent_run_id', NEW.parent_run_id,
    'depth', NEW.depth
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- The one cancel request (runs.cancel(), src/runs/sql/requestCancel.ts, and the cascade below): a
-- queued run that never started becomes `cancelled` at once (a queued run that did start, woken
-- from a wait, has an open tool turn: it is left to the execution that claims it, which answers
-- the turn; cancelling it here, as a second cancel of a waiting run did before, left its stored
-- transcript with a tool_use and no tool_result); a running run gets cancel_requested_at (the trigger
-- agentpg_runs_cancel_notify tells its instance); a run awaiting input goes back to `queued` with
-- cancel_requested_at and its set-aside job comes due now (the worker that claims it ends it
-- `cancelled`, its open tool calls answered). No row when the run is unknown or already final.
CREATE OR REPLACE FUNCTION agentpg_request_cancel(p_run_id uuid) RETURNS TABLE (run_state text, run_job_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_job uuid;
BEGIN
  UPDATE agentpg_runs r SET
      state = CASE WHEN r.state = 'queued' AND r.started_at IS NULL THEN 'cancelled'
                   WHEN r.state = 'awaiting_input' THEN 'queued' ELSE r.state END,
      finalized_at = CASE WHEN r.state = 'queued' AND r.started_at IS NULL THEN now() ELSE r.finalized_at END,
      state_changed_at = CASE WHEN (r.state = 'queued' AND r.started_at IS NULL) OR r.state = 'awaiting_input'
                              THEN clock_timestamp() ELSE r.state_changed_at END,
      cancel_requested_at = coalesce(r.cancel_requested_at, now())
    WHERE r.id = p_run_id AND r.state IN ('queued', 'running', 'awaiting_input')
    RETURNING r.state, r.job_id INTO v_state, v_job;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  -- `queued` after the update: it was waiting, or woken from a wait; its job comes due now.
  IF v_state = 'queued' THEN
    PERFORM agentpg_set_run_job_start(v_job, agentpg_boss.job_now());
  END IF;
  run_state := v_state;
  run_job_id := v_job;
  RETURN NEXT;
END;
$$;
--> statement-breakpoint
-- Cancel cascades down: a run whose cancel was requested, or that ended failed or cancelled, has
-- its unfinished children cancelled in the same transaction (and they theirs: the trigger fires
-- again on each child).
CREATE OR REPLACE FUNCTION agentpg_runs_cancel_children() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_child uuid;
BEGIN
  FOR v_child IN
    SELECT id FROM agentpg_runs WHERE parent_run_id = NEW.id AND finalized_at IS NULL ORDER BY id
  LOOP
    PERFORM agentpg_request_cancel(v_child);
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_cancel_children
  AFTER UPDATE OF cancel_requested_at, state ON agentpg_runs
  FOR EACH ROW
  WHEN ((OLD.cancel_requested_at IS NULL AND NEW.cancel_requested_at IS NOT NULL)
        OR (NEW.state IN ('failed', 'cancelled') AND OLD.state NOT IN ('failed', 'cancelled')))
  EXECUTE FUNCTION agentpg_runs_cancel_children();
--> statement-breakpoint
-- A child run ended: its parent's tool call gets the result (the final answer, or an is_error
-- result saying it failed or was cancelled), the parent's stream gets `child_run_finished` and
-- `tool_result`, and when the parent waits (`awaiting_input`) with nothing else open, its job comes
-- due now: any instance's worker, woken by this child's terminal NOTIFY, resumes it. The parent's
-- row is not written here (its state goes awaiting_input → running at the claim): a cancel of the
-- parent locks the parent, then its children, and this must not take them the other way round.
-- The executor's finalize locks the parent row before the child's (src/runs/finalizer.ts).
-- Serialization with the parent's suspend (childRuns.ts) is on the tool call row: the suspend
-- locks the open calls FOR UPDATE before deciding to wait, this UPDATE locks the one it answers.
CREATE OR REPLACE FUNCTION agentpg_runs_deliver_to_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_is_error boolean := NEW.state <> 'completed';
  v_output text;
  v_call record;
  v_parent record;
  v_event text;
BEGIN
  v_output := CASE NEW.state
    WHEN 'completed' THEN coalesce(NEW.response_text, '')
    WHEN 'cancelled' THEN 'agent ' || NEW.agent_name || ' was cancelled'
    ELSE 'agent ' || NEW.agent_name || ' failed: ' || coalesce(NEW.error_type || ': ', '')
         || coalesce(NEW.error_message, 'unknown error')
  END;
  UPDATE agentpg_tool_calls SET
      state = CASE WHEN v_is_error THEN 'failed' ELSE 'succeeded' END,
      is_error = v_is_error,
      output = v_output,
      error_message = CASE WHEN v_is_error THEN v_output END,
      finished_at = now(),
      duration_ms = least(extract(epoch FROM clock_timestamp() - coalesce(started_at, created_at)) * 1000, 2147483647)::integer
    WHERE id = NEW.parent_tool_call_id AND state IN ('pending', 'running')
    RETURNING run_id, tool_use_id, tool_name INTO v_call;
  IF NOT FOUND THEN
    RETURN NULL; -- the parent closed the call itself (it ended first): nothing waits for this
  END IF;
  -- Stream events of the parent (the envelope of src/runs/streamBuffer.ts; n is per sender and
  -- unused by readers). The output is cut to fit a NOTIFY payload.
  PERFORM pg_notify('agentpg_run_stream', json_build_object('r', v_call.run_id, 'n', -1, 'e', json_build_object(
    'type', 'child_run_finished', 'toolUseId', v_call.tool_use_id, 'name', v_call.tool_name,
    'childRunId', NEW.id, 'state', NEW.state))::text);
  v_event := json_build_object('r', v_call.run_id, 'n', -1, 'e', json_build_object(
    'type', 'tool_result', 'toolUseId', v_call.tool_use_id, 'name', v_call.tool_name,
    'isError', v_is_error, 'output', v_output))::text;
  IF octet_length(v_event) > 7500 THEN
    v_event := json_build_object('r', v_call.run_id, 'n', -1, 'e', json_build_object(
      'type', 'tool_result', 'toolUseId', v_call.tool_use_id, 'name', v_call.tool_name,
      'isError', v_is_error, 'output', left(v_output, 1000), 'truncated', true))::text;
  END IF;
  IF octet_length(v_event) <= 7500 THEN
    PERFORM pg_notify('agentpg_run_stream', v_event);
  END IF;
  SELECT state, job_id INTO v_parent FROM agentpg_runs WHERE id = v_call.run_id;
  IF v_parent.state = 'awaiting_input'
     AND NOT EXISTS (SELECT 1 FROM agentpg_tool_calls WHERE run_id = v_call.run_id AND state IN ('pending', 'running')) THEN
    PERFORM agentpg_set_run_job_start(v_parent.job_id, agentpg_boss.job_now());
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_deliver_to_parent
  AFTER UPDATE OF state ON agentpg_runs
  FOR EACH ROW
  WHEN (NEW.parent_tool_call_id IS NOT NULL AND OLD.finalized_at IS NULL AND NEW.finalized_at IS NOT NULL)
  EXECUTE FUNCTION agentpg_runs_deliver_to_parent();
--> statement-breakpoint
-- Tokens roll up to the root: a run's own tokens plus those of every run below it (children,
-- grandchildren, ...). A function, not a view: PostgreSQL does not push a run id into a recursive
-- view, it would walk every tree. `select * from agentpg_run_totals('<run id>')`.
CREATE OR REPLACE FUNCTION agentpg_run_totals(p_run_id uuid) RETURNS TABLE (
  runs bigint,
  total_input_tokens bigint,
  total_output_tokens bigint,
  total_cache_creation_input_tokens bigint,
  total_cache_read_input_tokens bigint
) LANGUAGE sql STABLE AS $$
  WITH RECURSIVE tree AS (
    SELECT id FROM agentpg_runs WHERE id = p_run_id
    UNION ALL
    SELECT c.id FROM tree t JOIN agentpg_runs c ON c.parent_run_id = t.id -- (agentpg_runs_parent_idx)
  )
  SELECT count(*), coalesce(sum(r.input_tokens), 0), coalesce(sum(r.output_tokens), 0),
         coalesce(sum(r.cache_creation_input_tokens), 0), coalesce(sum(r.cache_read_input_tokens), 0)
    FROM tree JOIN agentpg_runs r ON r.id = tree.id
$$;
--> statement-breakpoint
-- Which runs wait on which children, since when (oldest first): one row per unfinished child.
CREATE OR REPLACE VIEW agentpg_waiting_on_children AS
SELECT p.id AS run_id, p.agent_name, p.state AS run_state, t.tool_use_id,
       c.id AS child_run_id, c.agent_name AS child_agent_name, c.state AS child_state, c.depth AS child_depth,
       t.started_at AS waiting_since, now() - t.started_at AS waiting_for
  FROM agentpg_runs c
  JOIN agentpg_tool_calls t ON t.id = c.parent_tool_call_id
  JOIN agentpg_runs p ON p.id = c.parent_run_id
 WHERE c.parent_run_id IS NOT NULL AND c.finalized_at IS NULL -- (agentpg_runs_active_idx)
   AND t.state IN ('pending', 'running')
 ORDER BY t.started_at;
