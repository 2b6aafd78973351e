-- Capability routing (src/runs/routing.ts): a run's job carries its agent's route key as its pg-boss
-- priority, and an instance fetches only the keys of the agents it can run (the agent and all of
-- its tools). agentpg_route_key is the same formula as routeKeyOf in TypeScript: the first 4 bytes
-- of the name's MD5 as a signed int32, 0 (the key of jobs written before routing) mapped to 1.
CREATE OR REPLACE FUNCTION agentpg_route_key(p_agent_name text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN k = 0 THEN 1 ELSE k END
    FROM (SELECT ('x' || substr(md5(p_agent_name), 1, 8))::bit(32)::integer AS k) s
$$;
--> statement-breakpoint

-- Runs that wait for an instance able to run their agent: queued, and no live instance (heartbeat
-- within the default instance TTL, 2 min) is linked to the agent in agentpg_instance_agents (an
-- instance links only the agents whose tools it all has). They start as soon as such an instance
-- registers. `agentpg status` and the service's metrics report them.
CREATE OR REPLACE VIEW agentpg_unroutable_runs AS
SELECT r.id, r.session_id, r.agent_name, r.tenant_id, r.created_at, now() - r.created_at AS queued_for
FROM agentpg_runs r
WHERE r.state = 'queued' AND r.finalized_at IS NULL -- (agentpg_runs_active_idx)
  AND NOT EXISTS (
    SELECT 1 FROM agentpg_instance_agents ia
    JOIN agentpg_instances i ON i.id = ia.instance_id
    WHERE ia.agent_name = r.agent_name AND i.last_heartbeat_at >= now() - interval '2 minutes'
  );
--> statement-breakpoint

-- agentpg_enqueue_run (drizzle 0011) again, with the job's priority set to the agent's route key so
-- that only capable instances fetch it. Otherwise unchanged.
CREATE OR REPLACE FUNCTION agentpg_enqueue_run(
  p_session_id uuid,
  p_agent_name text,
  p_prompt text,
  p_idempotency_key text DEFAULT NULL,
  p_metadata jsonb DEFAULT '{}'::jsonb
) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_run_id uuid;
  v_tenant_id text;
  v_job_id uuid := gen_random_uuid();
  v_queue record; -- a row of agentpg_boss.queue (that schema is created after this migration)
BEGIN
  IF p_prompt IS NULL OR btrim(p_prompt) = '' THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: prompt must be a non-empty string' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF octet_length(p_prompt) > 1000000 THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: prompt is larger than 1000000 bytes' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_idempotency_key IS NOT NULL AND (length(p_idempotency_key) = 0 OR length(p_idempotency_key) > 255) THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: idempotency key must be 1 to 255 characters' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_metadata IS NULL OR jsonb_typeof(p_metadata) <> 'object' THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: metadata must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM agentpg_agents WHERE name = p_agent_name) THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: no agent named % is registered', p_agent_name USING ERRCODE = 'no_data_found';
  END IF;
  SELECT * INTO v_queue FROM agentpg_boss.queue WHERE name = 'agentpg_runs';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: the runs queue does not exist yet'
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'start an agentpg client once: it creates the queue';
  END IF;

  INSERT INTO agentpg_runs (session_id, agent_name, tenant_id, prompt, idempotency_key, metadata, job_id)
  SELECT s.id, p_agent_name, s.tenant_id, p_prompt, p_idempotency_key, p_metadata, v_job_id
    FROM agentpg_sessions s WHERE s.id = p_session_id
  ON CONFLICT (session_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, tenant_id INTO v_run_id, v_tenant_id;

  IF v_run_id IS NULL THEN
    IF p_idempotency_key IS NOT NULL THEN
      SELECT id INTO v_run_id FROM agentpg_runs WHERE session_id = p_session_id AND idempotency_key = p_idempotency_key;
      IF FOUND THEN
        RETURN v_run_id; -- the same key on the same session: the run created first, no second job
      END IF;
    END IF;
    RAISE EXCEPTION 'agentpg_enqueue_run: session % not found', p_session_id USING ERRCODE = 'no_data_found';
  END IF;

  EXECUTE format(
    'INSERT INTO agentpg_boss.%I (id, name, data, priority, start_after, created_on, singleton_key, group_id,
       expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max,
       policy, dead_letter, heartbeat_seconds)
     VALUES ($1, $2, $3, $16, agentpg_boss.job_now(), agentpg_boss.job_now(), $4, $5,
       $6, $7, agentpg_boss.job_now() + $8 * interval ''1s'', $9, $10, $11, $12, $13, $14, $15)',
    v_queue.table_name)
  USING v_job_id, v_queue.name, jsonb_build_object('runId', v_run_id, 'agentName', p_agent_name),
    p_session_id::text, v_tenant_id, v_queue.expire_seconds, v_queue.deletion_seconds, v_queue.retention_seconds,
    v_queue.retry_limit, v_queue.retry_delay, v_queue.retry_backoff, v_queue.retry_delay_max, v_queue.policy,
    v_queue.dead_letter, v_queue.heartbeat_seconds, agentpg_route_key(p_agent_name);
  RETURN v_run_id;
END;
$$;
