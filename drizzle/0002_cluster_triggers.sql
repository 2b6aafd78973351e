-- Cluster events (issue 4). Every payload is small JSON with ids and states only: never prompts,
-- outputs, metadata or secrets. NOTIFY is sent at commit, so a rolled-back change sends nothing.

-- agentpg_instance_registered: a new instance row (a re-registration after cleanup counts too).
CREATE OR REPLACE FUNCTION agentpg_notify_instance_registered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('agentpg_instance_registered', json_build_object(
    'instance_id', NEW.id,
    'hostname', NEW.hostname,
    'pid', NEW.pid
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_instances_registered_notify
  AFTER INSERT ON agentpg_instances
  FOR EACH ROW EXECUTE FUNCTION agentpg_notify_instance_registered();
--> statement-breakpoint
-- agentpg_instance_deregistered: stop() deleted its own row, or a cleanup pass deleted a stale one.
CREATE OR REPLACE FUNCTION agentpg_notify_instance_deregistered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('agentpg_instance_deregistered', json_build_object(
    'instance_id', OLD.id,
    'hostname', OLD.hostname
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_instances_deregistered_notify
  AFTER DELETE ON agentpg_instances
  FOR EACH ROW EXECUTE FUNCTION agentpg_notify_instance_deregistered();
--> statement-breakpoint
-- agentpg_ownership_changed (in place of the seed's leader_changed): the owner or the fencing epoch
-- of a long-running agent changed, including an agent freed (owner null) or deleted while owned.
CREATE OR REPLACE FUNCTION agentpg_notify_ownership_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.owner_instance_id IS NULL THEN RETURN NULL; END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.owner_instance_id IS NOT DISTINCT FROM OLD.owner_instance_id AND NEW.epoch = OLD.epoch THEN
      RETURN NULL;
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.owner_instance_id IS NULL THEN RETURN NULL; END IF;
  END IF;
  PERFORM pg_notify('agentpg_ownership_changed', json_build_object(
    'agent_id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
    'kind', CASE WHEN TG_OP = 'DELETE' THEN OLD.kind ELSE NEW.kind END,
    'owner_instance_id', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.owner_instance_id END,
    'previous_owner_instance_id', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.owner_instance_id END,
    'epoch', CASE WHEN TG_OP = 'DELETE' THEN OLD.epoch ELSE NEW.epoch END
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_long_running_agents_ownership_notify
  AFTER INSERT OR UPDATE OF owner_instance_id, epoch OR DELETE ON agentpg_long_running_agents
  FOR EACH ROW EXECUTE FUNCTION agentpg_notify_ownership_changed();
--> statement-breakpoint
-- Keeps agentpg_runs.state_changed_at current, so a client whose LISTEN connection dropped can
-- re-read the runs whose state changed while it was away. clock_timestamp(), not now(): closer to
-- the commit that sends the NOTIFY, which keeps the catch-up window's safety margin small.
CREATE OR REPLACE FUNCTION agentpg_runs_touch_state_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state THEN
    NEW.state_changed_at := clock_timestamp();
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_runs_state_changed_at
  BEFORE UPDATE OF state ON agentpg_runs
  FOR EACH ROW EXECUTE FUNCTION agentpg_runs_touch_state_changed_at();
