-- agentpg_insert_run_with_job: one run and its pg-boss job, inserted by one SQL function shared by
-- agent.enqueue()'s lone call (src/runs/sql/enqueueLoneRun.ts: ONE autocommit statement, one round
-- trip instead of a batch transaction of 6 or 7 statements) and by the public agentpg_enqueue_run below
-- (transactional enqueue, psql). Each plpgsql statement of this VOLATILE function takes a fresh
-- snapshot (READ COMMITTED), so it can wait for the session's lock and then see what committed
-- meanwhile, like the batch transaction's separate statements (src/runs/enqueueBatcher.ts).
--
-- With p_in_commit_order (the library's lone call, in autocommit):
-- 1. the session's enqueue lock, the same key as lockSessionsForEnqueue (released at the
--    statement's COMMIT);
-- 2. the check of sessionsStartedTooEarly: a run of the session with created_at >= now() committed
--    while this transaction waited, so this run, ordered by this transaction's start time, would
--    come before it. Nothing is written and outcome 'too_early' tells the caller to call again (a
--    later start time), as the batch path DEFERs: created_at order = commit order = execution
--    order per session.
-- Without it (a caller's transaction): no lock and no check, as before: that transaction's start
-- time is its order, and a statement enqueueing into several sessions would take their locks in
-- row order, which could deadlock with batches that take them sorted.
--
-- Then the run (same columns as insertRuns; keyed runs ON CONFLICT DO NOTHING, unkeyed a plain
-- INSERT: no speculative insertion) and its job, written like pg-boss's insert writes it (the
-- queue's settings, the route key as priority; as runJobInsert + insertRunJobs). Outcomes:
-- 'created' (run_id, tenant_id), 'existing' (the run the idempotency key names; no job),
-- 'session_missing', 'too_early'. In autocommit the statement's COMMIT makes run and job durable
-- together, and the run state trigger's NOTIFY wakes the workers at that COMMIT.
CREATE OR REPLACE FUNCTION agentpg_insert_run_with_job(
  p_session_id uuid,
  p_agent_name text,
  p_prompt text,
  p_idempotency_key text,
  p_metadata jsonb,
  p_context jsonb,
  p_trace_parent text,
  p_batch_mode boolean,
  p_run_id uuid,
  p_job_id uuid,
  p_in_commit_order boolean,
  OUT outcome text,
  OUT run_id uuid,
  OUT tenant_id text
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_job_id uuid := coalesce(p_job_id, gen_random_uuid());
  v_queue record; -- a row of agentpg_boss.queue
BEGIN
  IF p_in_commit_order THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('agentpg_session:' || p_session_id::text, 0));
    IF EXISTS (SELECT 1 FROM agentpg_runs r WHERE r.session_id = p_session_id AND r.created_at >= now()) THEN
      outcome := 'too_early';
      RETURN;
    END IF;
  END IF;
  SELECT * INTO v_queue FROM agentpg_boss.queue q WHERE q.name = 'agentpg_runs';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: the runs queue does not exist yet'
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'start an agentpg client once: it creates the queue';
  END IF;

  IF p_idempotency_key IS NULL THEN
    INSERT INTO agentpg_runs AS r (id, session_id, agent_name, tenant_id, prompt, metadata, context, job_id, trace_parent, batch_mode)
    SELECT coalesce(p_run_id, gen_random_uuid()), s.id, p_agent_name, s.tenant_id, p_prompt, p_metadata, p_context,
           v_job_id, p_trace_parent, p_batch_mode
      FROM agentpg_sessions s WHERE s.id = p_session_id
    RETURNING r.id, r.tenant_id INTO run_id, tenant_id;
  ELSE
    INSERT INTO agentpg_runs AS r (id, session_id, agent_name, tenant_id, prompt, idempotency_key, metadata, context, job_id,
                                   trace_parent, batch_mode)
    SELECT coalesce(p_run_id, gen_random_uuid()), s.id, p_agent_name, s.tenant_id, p_prompt, p_idempotency_key, p_metadata,
           p_context, v_job_id, p_trace_parent, p_batch_mode
      FROM agentpg_sessions s WHERE s.id = p_session_id
    ON CONFLICT (session_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING r.id, r.tenant_id INTO run_id, tenant_id;
  END IF;

  IF run_id IS NULL THEN
    IF p_idempotency_key IS NOT NULL THEN
      SELECT r.id INTO run_id FROM agentpg_runs r WHERE r.session_id = p_session_id AND r.idempotency_key = p_idempotency_key;
      IF FOUND THEN
        outcome := 'existing'; -- the same key on the same session: the run created first, no second job
        RETURN;
      END IF;
    END IF;
    outcome := 'session_missing';
    RETURN;
  END IF;

  EXECUTE format(
    'INSERT INTO agentpg_boss.%I (id, name, data, priority, start_after, created_on, singleton_key, group_id,
       expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max,
       policy, dead_letter, heartbeat_seconds)
     VALUES ($1, $2, $3, $16, agentpg_boss.job_now(), agentpg_boss.job_now(), $4, $5,
       $6, $7, agentpg_boss.job_now() + $8 * interval ''1s'', $9, $10, $11, $12, $13, $14, $15)',
    v_queue.table_name)
  USING v_job_id, v_queue.name, jsonb_build_object('runId', run_id, 'agentName', p_agent_name),
    p_session_id::text, tenant_id, v_queue.expire_seconds, v_queue.deletion_seconds, v_queue.retention_seconds,
    v_queue.retry_limit, v_queue.retry_delay, v_queue.retry_backoff, v_queue.retry_delay_max, v_queue.policy,
    v_queue.dead_letter, v_queue.heartbeat_seconds, agentpg_route_key(p_agent_name);
  outcome := 'created';
END;
$$;
--> statement-breakpoint

-- agentpg_enqueue_run (drizzle 0011, 0015) again: its checks, then the shared insertion above, in
-- the caller's transaction (no session lock: see above). Same signature and behaviour.
CREATE OR REPLACE FUNCTION agentpg_enqueue_run(
  p_session_id uuid,
  p_agent_name text,
  p_prompt text,
  p_idempotency_key text DEFAULT NULL,
  p_metadata jsonb DEFAULT '{}'::jsonb
) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_result record;
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
  SELECT * INTO v_result FROM agentpg_insert_run_with_job(p_session_id, p_agent_name, p_prompt, p_idempotency_key,
    p_metadata, NULL, NULL, NULL, NULL, NULL, false);
  IF v_result.outcome = 'session_missing' THEN
    RAISE EXCEPTION 'agentpg_enqueue_run: session % not found', p_session_id USING ERRCODE = 'no_data_found';
  END IF;
  RETURN v_result.run_id;
END;
$$;
