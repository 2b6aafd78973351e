ALTER TABLE "agentpg_runs" DROP CONSTRAINT "agentpg_runs_state_check";--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "approval" varchar(20);--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "approval_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "decided_by" varchar(255);--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "decided_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "decision_message" text;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "approved_input" jsonb;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD CONSTRAINT "agentpg_runs_state_check" CHECK ("agentpg_runs"."state" in ('queued', 'running', 'awaiting_input', 'completed', 'failed', 'cancelled'));--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD CONSTRAINT "agentpg_tool_calls_approval_check" CHECK ("agentpg_tool_calls"."approval" in ('pending', 'approved', 'denied'));--> statement-breakpoint
-- Runs that wait (issue 14): `awaiting_input` is a run suspended until a person decides on its
-- tool calls. running → awaiting_input (the executor suspends it, its job set aside),
-- awaiting_input → queued (the last decision, or a cancel, wakes its job) or → running (its job
-- came due at the approval deadline and was fetched: the executor times the approval out).
-- A waiting run never ends directly: an execution ends it, so its transcript gets its tool_results.
CREATE OR REPLACE FUNCTION agentpg_runs_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = OLD.state THEN
    RETURN NEW;
  END IF;
  IF (OLD.state = 'queued' AND NEW.state IN ('running', 'cancelled'))
     OR (OLD.state = 'running' AND NEW.state IN ('completed', 'failed', 'cancelled', 'awaiting_input'))
     OR (OLD.state = 'awaiting_input' AND NEW.state IN ('queued', 'running')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'agentpg: illegal run state transition % -> % (run %)', OLD.state, NEW.state, OLD.id
    USING ERRCODE = 'check_violation', HINT = 'queued -> running|cancelled, running -> awaiting_input|completed|failed|cancelled, awaiting_input -> queued|running; terminal states are final';
END;
$$;
--> statement-breakpoint
-- The pg-boss job of a waiting run is kept in `retry` (fail()ed by the executor), which holds back
-- the session's later runs (key_strict_fifo), with start_after at the approval deadline: it is
-- fetched then (to time the approval out), or earlier when this function moves start_after
-- (a decision, a cancel). The runs queue's job table is found through agentpg_boss.queue.
-- Returns whether the job was found waiting.
CREATE OR REPLACE FUNCTION agentpg_set_run_job_start(p_job_id uuid, p_start_after timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_table text;
  v_found boolean;
BEGIN
  SELECT table_name INTO v_table FROM agentpg_boss.queue WHERE name = 'agentpg_runs';
  IF v_table IS NULL OR p_job_id IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('UPDATE agentpg_boss.%I SET start_after = $2 WHERE id = $1 AND state = ''retry''', v_table)
    USING p_job_id, p_start_after;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  RETURN v_found;
END;
$$;
--> statement-breakpoint
-- agentpg_decide_tool_call: records a decision on a tool call waiting for approval, from any
-- instance, the HTTP API, the CLI or psql. p_decision 'approve' (p_input: run the tool with this
-- input instead) or 'deny' (p_message goes to the model as the is_error tool_result). When it is
-- the last pending decision of a waiting run, the run goes back to `queued` and its job comes due
-- now, in this transaction: the run state NOTIFY wakes the workers at COMMIT. On a run that is
-- still `running` (it has not suspended yet) the decision is only recorded: the executor reads it.
-- Returns the run's state after the call.
CREATE OR REPLACE FUNCTION agentpg_decide_tool_call(
  p_run_id uuid,
  p_tool_use_id text,
  p_decision text,
  p_decided_by text,
  p_message text DEFAULT NULL,
  p_input jsonb DEFAULT NULL
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_run record;
  v_found boolean;
BEGIN
  IF p_decision IS NULL OR p_decision NOT IN ('approve', 'deny') THEN
    RAISE EXCEPTION 'agentpg_decide_tool_call: decision must be approve or deny' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_decided_by IS NULL OR length(p_decided_by) = 0 OR length(p_decided_by) > 255 THEN
    RAISE EXCEPTION 'agentpg_decide_tool_call: decided_by must be 1 to 255 characters' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_input IS NOT NULL AND p_decision <> 'approve' THEN
    RAISE EXCEPTION 'agentpg_decide_tool_call: an edited input goes with approve only' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- The run row first: a suspend (executor) locks it too, so a decision and a suspend never miss
  -- each other (the later one sees what the earlier one committed).
  SELECT id, state, job_id INTO v_run FROM agentpg_runs WHERE id = p_run_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agentpg_decide_tool_call: run % not found', p_run_id USING ERRCODE = 'no_data_found';
  END IF;
  UPDATE agentpg_tool_calls SET
      approval = CASE WHEN p_decision = 'approve' THEN 'approved' ELSE 'denied' END,
      decided_by = p_decided_by,
      decided_at = now(),
      decision_message = p_message,
      approved_input = p_input
    WHERE run_id = p_run_id AND tool_use_id = p_tool_use_id AND approval = 'pending' AND state = 'pending';
  GET DIAGNOSTICS v_found = ROW_COUNT;
  IF NOT v_found THEN
    IF EXISTS (SELECT 1 FROM agentpg_tool_calls WHERE run_id = p_run_id AND tool_use_id = p_tool_use_id AND approval IS NOT NULL) THEN
      RAISE EXCEPTION 'agentpg_decide_tool_call: tool call % of run % is already decided', p_tool_use_id, p_run_id
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'agentpg_decide_tool_call: run % has no tool call % waiting for approval', p_run_id, p_tool_use_id
      USING ERRCODE = 'no_data_found';
  END IF;
  IF v_run.state = 'awaiting_input'
     AND NOT EXISTS (SELECT 1 FROM agentpg_tool_calls WHERE run_id = p_run_id AND approval = 'pending' AND state = 'pending') THEN
    UPDATE agentpg_runs SET state = 'queued', state_changed_at = clock_timestamp() WHERE id = p_run_id;
    PERFORM agentpg_set_run_job_start(v_run.job_id, agentpg_boss.job_now());
    RETURN 'queued';
  END IF;
  RETURN v_run.state;
END;
$$;
--> statement-breakpoint
-- What is waiting for a person, on whom, since when (oldest first): the operators' view of
-- client.approvals.list().
CREATE OR REPLACE VIEW agentpg_pending_approvals AS
SELECT r.id AS run_id, r.session_id, r.tenant_id, r.agent_name, r.state AS run_state,
       t.tool_use_id, t.tool_name, t.input, t.created_at AS requested_at, t.approval_deadline,
       now() - t.created_at AS waiting_for
  FROM agentpg_tool_calls t JOIN agentpg_runs r ON r.id = t.run_id
 WHERE t.approval = 'pending' AND t.state = 'pending'
 ORDER BY t.created_at;
