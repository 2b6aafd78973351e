-- Views that answer seed 000's troubleshooting questions in plain SQL (see README "SQL for operators").
-- Thresholds are the defaults (instance TTL 2 min, stuck-run timeout 1 h); the cleanup job uses the
-- configured values.

-- Instances whose heartbeat is older than the default instance TTL: the next cleanup pass removes them.
CREATE OR REPLACE VIEW agentpg_stale_instances AS
SELECT i.id, i.hostname, i.pid, i.version, i.last_heartbeat_at,
       now() - i.last_heartbeat_at AS heartbeat_age,
       (SELECT count(*) FROM agentpg_runs r WHERE r.instance_id = i.id AND r.state = 'running') AS running_runs
FROM agentpg_instances i
WHERE i.last_heartbeat_at < now() - interval '2 minutes';
--> statement-breakpoint

-- Runs `running` for longer than the default stuck-run timeout: the next cleanup pass fails them
-- with "run timed out".
CREATE OR REPLACE VIEW agentpg_stuck_runs AS
SELECT r.id, r.session_id, r.agent_name, r.tenant_id, r.instance_id, r.started_at,
       now() - r.started_at AS running_for, r.attempts,
       (i.id IS NULL) AS instance_gone
FROM agentpg_runs r
LEFT JOIN agentpg_instances i ON i.id = r.instance_id
WHERE r.state = 'running' AND r.started_at < now() - interval '1 hour';
--> statement-breakpoint

-- Runs per state with their oldest and newest, for dashboards.
CREATE OR REPLACE VIEW agentpg_run_summary AS
SELECT state, count(*) AS runs, min(created_at) AS oldest, max(created_at) AS newest,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
FROM agentpg_runs
GROUP BY state;
