ALTER TABLE "agentpg_runs" DROP CONSTRAINT "agentpg_runs_parent_run_id_agentpg_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "agentpg_sessions" DROP CONSTRAINT "agentpg_sessions_parent_session_id_agentpg_sessions_id_fk";
--> statement-breakpoint
-- Keep the schema ready for Citus where it costs nothing (docs/scaling.md; the layout is
-- src/db/citus/layout.ts, checked from the catalog by test/db/citusReady.test.ts). The two foreign
-- keys dropped above point from a session to another session and from a run to a run of another
-- session: Citus rejects both once the tables are distributed by session. What they did is kept:
-- the parent session's existence is checked by the insert (src/runs/sql/sessions.ts; a child run's
-- parent is locked by lockParentRuns), and ON DELETE SET NULL is done by the delete triggers below,
-- over the existing indexes agentpg_sessions_parent_idx and agentpg_runs_parent_idx. One lock fewer
-- per child run and child session inserted.
CREATE OR REPLACE FUNCTION agentpg_runs_delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agentpg_tool_calls t WHERE t.run_id IN (SELECT d.id FROM deleted_runs d);
  -- By session first: agentpg_messages_pkey finds the rows.
  DELETE FROM agentpg_messages m
   WHERE m.session_id IN (SELECT d.session_id FROM deleted_runs d)
     AND m.run_id IN (SELECT d.id FROM deleted_runs d);
  -- What the foreign key's ON DELETE SET NULL did: child runs outlive their parent (they are in
  -- their own sessions), without a dangling parent_run_id.
  UPDATE agentpg_runs c SET parent_run_id = NULL
   WHERE c.parent_run_id IN (SELECT d.id FROM deleted_runs d) -- (agentpg_runs_parent_idx)
     AND c.parent_run_id IS NOT NULL;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION agentpg_sessions_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agentpg_messages m WHERE m.session_id IN (SELECT d.id FROM deleted_sessions d);
  -- ON DELETE SET NULL of the former parent_session_id foreign key.
  UPDATE agentpg_sessions c SET parent_session_id = NULL
   WHERE c.parent_session_id IN (SELECT d.id FROM deleted_sessions d); -- (agentpg_sessions_parent_idx)
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- Grouped by the whole primary key a distributed agentpg_runs has (session_id, id) rather than by id
-- alone: the same groups (id is unique), and the view no longer depends on agentpg_runs_pkey, which
-- the Citus step replaces (src/db/citus/distribute.ts).
CREATE OR REPLACE VIEW agentpg_run_costs AS
SELECT r.id AS run_id, r.session_id, r.tenant_id, r.agent_name, r.created_at,
       count(m.seq) FILTER (WHERE m.role = 'assistant')::int AS model_calls,
       coalesce(sum(m.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(m.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(m.cache_creation_input_tokens), 0)::bigint AS cache_creation_input_tokens,
       coalesce(sum(m.cache_read_input_tokens), 0)::bigint AS cache_read_input_tokens,
       sum(m.cost_usd) AS cost_usd
FROM agentpg_runs r
LEFT JOIN agentpg_messages m ON m.session_id = r.session_id AND m.run_id = r.id -- (agentpg_messages_pkey)
GROUP BY r.session_id, r.id;
--> statement-breakpoint
-- The operator views that join runs (distributed on Citus) with the instances (coordinator tables)
-- read the instance side first, in a materialized CTE: Citus cannot join a distributed table with a
-- plain coordinator table directly, and on one server the CTE is the few instance rows.
CREATE OR REPLACE VIEW agentpg_unroutable_runs AS
WITH routable AS MATERIALIZED (
  SELECT DISTINCT ia.agent_name FROM agentpg_instance_agents ia
  JOIN agentpg_instances i ON i.id = ia.instance_id
  WHERE i.last_heartbeat_at >= now() - interval '2 minutes'
)
SELECT r.id, r.session_id, r.agent_name, r.tenant_id, r.created_at, now() - r.created_at AS queued_for
FROM agentpg_runs r
WHERE r.state = 'queued' AND r.finalized_at IS NULL -- (agentpg_runs_active_idx)
  AND r.agent_name NOT IN (SELECT agent_name FROM routable);
--> statement-breakpoint
CREATE OR REPLACE VIEW agentpg_stale_instances AS
WITH running AS MATERIALIZED (
  SELECT r.instance_id, count(*) AS n FROM agentpg_runs r
  WHERE r.state = 'running' AND r.finalized_at IS NULL AND r.instance_id IS NOT NULL -- (agentpg_runs_active_idx)
  GROUP BY r.instance_id
)
SELECT i.id, i.hostname, i.pid, i.version, i.last_heartbeat_at,
       now() - i.last_heartbeat_at AS heartbeat_age,
       coalesce((SELECT n.n FROM running n WHERE n.instance_id = i.id), 0) AS running_runs
FROM agentpg_instances i
WHERE i.last_heartbeat_at < now() - interval '2 minutes';
--> statement-breakpoint
CREATE OR REPLACE VIEW agentpg_stuck_runs AS
WITH live AS MATERIALIZED (SELECT id FROM agentpg_instances)
SELECT r.id, r.session_id, r.agent_name, r.tenant_id, r.instance_id, r.started_at,
       now() - r.started_at AS running_for, r.attempts,
       (r.instance_id IS NULL OR r.instance_id NOT IN (SELECT id FROM live)) AS instance_gone
FROM agentpg_runs r
WHERE r.state = 'running' AND r.finalized_at IS NULL AND r.started_at < now() - interval '1 hour';
