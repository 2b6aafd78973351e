ALTER TABLE "agentpg_tool_calls" DROP CONSTRAINT "agentpg_tool_calls_state_check";--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "context" jsonb;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "question" text;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD COLUMN "answer_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD CONSTRAINT "agentpg_tool_calls_state_check" CHECK ("agentpg_tool_calls"."state" in ('pending', 'running', 'awaiting_input', 'succeeded', 'failed'));--> statement-breakpoint
-- Runs that wait (issue 14), part two: input requests. A tool returns requestInput({ question })
-- (src/runs/inputRequests.ts): its call goes running → awaiting_input with the question and a
-- deadline, and the run suspends exactly as for an approval (awaiting_input, job set aside). The
-- answer, recorded by agentpg_answer_input() below from any instance, the HTTP API, the CLI or
-- psql, becomes the call's output (the tool_result the model gets); no answer by the deadline
-- fails the call with "timed out waiting for an answer". A run waits while any call of it waits
-- for a decision or an answer: agentpg_run_still_waits() is that one predicate.
CREATE OR REPLACE FUNCTION agentpg_run_still_waits(p_run_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM agentpg_tool_calls
     WHERE run_id = p_run_id
       AND ((approval = 'pending' AND state = 'pending') OR state = 'awaiting_input')
  )
$$;
--> statement-breakpoint
-- agentpg_decide_tool_call (migration approvals) again: a run whose last pending decision comes in
-- resumes only when no call of it still waits for an answer either (agentpg_run_still_waits).
-- Otherwise unchanged.
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
  IF v_run.state = 'awaiting_input' AND NOT agentpg_run_still_waits(p_run_id) THEN
    UPDATE agentpg_runs SET state = 'queued', state_changed_at = clock_timestamp() WHERE id = p_run_id;
    PERFORM agentpg_set_run_job_start(v_run.job_id, agentpg_boss.job_now());
    RETURN 'queued';
  END IF;
  RETURN v_run.state;
END;
$$;
--> statement-breakpoint
-- agentpg_answer_input: records the answer to a tool's question (a call in `awaiting_input`), from
-- any instance, the HTTP API, the CLI or psql. The answer becomes the call's output (succeeded):
-- the model gets it as the tool_result, and the tool is not run again. Its `tool_result` stream
-- event goes out at COMMIT. When the run waited on nothing else it goes back to `queued` and its
-- job comes due now, in this transaction, like a last decision. On a run still `running` (it has
-- not suspended yet) the answer is only recorded: the executor reads it. Returns the run's state
-- after the call. Errors: no_data_found (no such question waiting), object_not_in_prerequisite_state
-- (answered already, or timed out), invalid_parameter_value.
CREATE OR REPLACE FUNCTION agentpg_answer_input(
  p_run_id uuid,
  p_tool_use_id text,
  p_answer text,
  p_answered_by text
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_run record;
  v_call record;
  v_event jsonb;
BEGIN
  IF p_answer IS NULL OR octet_length(p_answer) > 100000 THEN
    RAISE EXCEPTION 'agentpg_answer_input: answer must be a string of at most 100000 bytes' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_answered_by IS NULL OR length(p_answered_by) = 0 OR length(p_answered_by) > 255 THEN
    RAISE EXCEPTION 'agentpg_answer_input: answered_by must be 1 to 255 characters' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- The run row first, as agentpg_decide_tool_call does (see there).
  SELECT id, state, job_id INTO v_run FROM agentpg_runs WHERE id = p_run_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agentpg_answer_input: run % not found', p_run_id USING ERRCODE = 'no_data_found';
  END IF;
  UPDATE agentpg_tool_calls SET
      state = 'succeeded', is_error = false, output = p_answer, error_message = NULL,
      decided_by = p_answered_by, decided_at = now(), finished_at = now(),
      duration_ms = (extract(epoch FROM now() - started_at) * 1000)::integer
    WHERE run_id = p_run_id AND tool_use_id = p_tool_use_id AND state = 'awaiting_input'
    RETURNING tool_use_id, tool_name INTO v_call;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM agentpg_tool_calls WHERE run_id = p_run_id AND tool_use_id = p_tool_use_id AND question IS NOT NULL) THEN
      RAISE EXCEPTION 'agentpg_answer_input: the question of tool call % of run % is answered already (or timed out)', p_tool_use_id, p_run_id
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'agentpg_answer_input: run % has no tool call % waiting for an answer', p_run_id, p_tool_use_id
      USING ERRCODE = 'no_data_found';
  END IF;
  -- The run stream's envelope (src/runs/channels.ts StreamEnvelope), kept under NOTIFY's 8000 bytes.
  v_event := jsonb_build_object('type', 'tool_result', 'toolUseId', v_call.tool_use_id, 'name', v_call.tool_name,
                                'isError', false, 'output', left(p_answer, 1500));
  IF length(p_answer) > 1500 THEN
    v_event := v_event || jsonb_build_object('truncated', true);
  END IF;
  PERFORM pg_notify('agentpg_run_stream', jsonb_build_object('r', p_run_id, 'n', 0, 'e', v_event)::text);
  IF v_run.state = 'awaiting_input' AND NOT agentpg_run_still_waits(p_run_id) THEN
    UPDATE agentpg_runs SET state = 'queued', state_changed_at = clock_timestamp() WHERE id = p_run_id;
    PERFORM agentpg_set_run_job_start(v_run.job_id, agentpg_boss.job_now());
    RETURN 'queued';
  END IF;
  RETURN v_run.state;
END;
$$;
--> statement-breakpoint
-- What is waiting, on whom, since when (oldest first): every tool call a run waits on, an approval
-- (`kind` approval: `subject` is the call's input) or an answer (`kind` input: `subject` is the
-- question). client.approvals.list() and client.inputs.list() read the same rows. Found through
-- the unfinished runs (`finalized_at is null`: agentpg_runs_active_idx) and their calls (run_id
-- prefix of agentpg_tool_calls_run_tool_use_idx): an index on the waiting calls themselves would
-- name `state`, and make every tool call's state change a non-HOT update.
CREATE OR REPLACE VIEW agentpg_waits AS
SELECT r.id AS run_id, r.session_id, r.tenant_id, r.agent_name, r.state AS run_state,
       CASE WHEN t.state = 'awaiting_input' THEN 'input' ELSE 'approval' END AS kind,
       t.tool_use_id, t.tool_name,
       CASE WHEN t.state = 'awaiting_input' THEN to_jsonb(t.question) ELSE t.input END AS subject,
       coalesce(t.started_at, t.created_at) AS requested_at,
       CASE WHEN t.state = 'awaiting_input' THEN t.answer_deadline ELSE t.approval_deadline END AS deadline,
       now() - coalesce(t.started_at, t.created_at) AS waiting_for
  FROM agentpg_tool_calls t JOIN agentpg_runs r ON r.id = t.run_id
 WHERE r.finalized_at IS NULL
   AND ((t.approval = 'pending' AND t.state = 'pending') OR t.state = 'awaiting_input')
 ORDER BY requested_at;
