-- agentpg_enqueue_run: enqueue a run from plain SQL (psql, a trigger, another language's driver),
-- atomically with whatever else the calling transaction writes. It does what agent.enqueue() does
-- in one statement: the run row (state `queued`) and its pg-boss job in the runs queue, both inside
-- the caller's transaction. The run state trigger's NOTIFY wakes the workers at that COMMIT; a
-- rollback leaves neither run nor job.
--
-- The job row is written like pg-boss's own insert writes it (the queue's defaults copied from
-- agentpg_boss.queue, created_on/start_after from agentpg_boss.job_now()); a test checks that
-- a run enqueued this way is fetched, executed and finished like any other.
--
-- A run takes its place in its session by the transaction's start time (created_at and the job's
-- created_on are both now()), as every pg-boss job does.
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
     VALUES ($1, $2, $3, 0, agentpg_boss.job_now(), agentpg_boss.job_now(), $4, $5,
       $6, $7, agentpg_boss.job_now() + $8 * interval ''1s'', $9, $10, $11, $12, $13, $14, $15)',
    v_queue.table_name)
  USING v_job_id, v_queue.name, jsonb_build_object('runId', v_run_id, 'agentName', p_agent_name),
    p_session_id::text, v_tenant_id, v_queue.expire_seconds, v_queue.deletion_seconds, v_queue.retention_seconds,
    v_queue.retry_limit, v_queue.retry_delay, v_queue.retry_backoff, v_queue.retry_delay_max, v_queue.policy,
    v_queue.dead_letter, v_queue.heartbeat_seconds;
  RETURN v_run_id;
END;
$$;
