-- Runs (issue 3): the run state machine enforced by the database, and the run NOTIFY channels.
-- Payloads carry ids and states only: never prompts, outputs, metadata or secrets.

-- Legal transitions: queued → running | cancelled, running → completed | failed | cancelled.
-- Nothing leaves a terminal state. An UPDATE that leaves state as it is passes (a re-claim of a
-- running run after its worker died sets state = 'running' again).
CREATE OR REPLACE FUNCTION agentpg_runs_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = OLD.state THEN
    RETURN NEW;
  END IF;
  IF (OLD.state = 'queued' AND NEW.state IN ('running', 'cancelled'))
     OR (OLD.state = 'running' AND NEW.state IN ('completed', 'failed', 'cancelled')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'agentpg: illegal run state transition % -> % (run %)', OLD.state, NEW.state, OLD.id
    USING ERRCODE = 'check_violation', HINT = 'queued -> running|cancelled, running -> completed|failed|cancelled; terminal states are final';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_guard_transition
  BEFORE UPDATE OF state ON agentpg_runs
  FOR EACH ROW EXECUTE FUNCTION agentpg_runs_guard_transition();
--> statement-breakpoint
-- agentpg_run_state_changed: a run was enqueued (previous_state null) or changed state. Sent at
-- commit, so a waiter that re-reads the row on this event sees the new state.
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
    'instance_id', NEW.instance_id
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_state_notify
  AFTER INSERT OR UPDATE OF state ON agentpg_runs
  FOR EACH ROW EXECUTE FUNCTION agentpg_runs_notify_state_changed();
--> statement-breakpoint
-- agentpg_run_cancel: cancel_requested_at was set on a running run (by runs.cancel() or by hand:
-- UPDATE agentpg_runs SET cancel_requested_at = now() WHERE id = ...). The executing instance
-- aborts the run's model call and tools.
CREATE OR REPLACE FUNCTION agentpg_runs_notify_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'running' AND NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL THEN
    PERFORM pg_notify('agentpg_run_cancel', json_build_object(
      'run_id', NEW.id,
      'instance_id', NEW.instance_id
    )::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_cancel_notify
  AFTER UPDATE OF cancel_requested_at ON agentpg_runs
  FOR EACH ROW EXECUTE FUNCTION agentpg_runs_notify_cancel();
