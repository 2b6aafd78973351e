-- [batch] A cancel closes the run's open batch requests in the same statement (src/batch, issue 17):
-- before, a run cancelled while its request waited kept it `pending` forever, and a request
-- already in a batch at the API got its result stored later on the cancelled run's row.
-- agentpg_request_cancel is as in migration agents_as_tools, plus the UPDATE of
-- agentpg_batch_requests after the run's: every request of the run not ended yet (`pending`,
-- `submitting`, `submitted`) becomes `canceled` (ended_at set), durable at the cancel's COMMIT with
-- the cancel itself (the cascade to child runs calls this function too, so theirs go as well).
-- From then on the poll pass never sends it (recordSubmission picks `pending` only) and never
-- stores a result on it (storeResults takes `submitting`/`submitted` only); a result the API
-- returns for it later is dropped (it is billed: the batch was already created).
--
-- Order and locks: the run row first (its UPDATE waits for a batch suspend transaction in flight,
-- src/batch/runCall.ts, so the request that suspend inserts is committed and seen by the next
-- statement, which takes a new snapshot). The requests with SKIP LOCKED: the poll pass locks
-- requests before runs (storeResults, then resumeBatchWaits), so waiting here could deadlock with
-- it; a request the pass holds is being given its result or moved into a batch, and the run is
-- then cancelled without it (the executor ends a run with cancel_requested_at at its claim, before
-- any model call: the stored result is never applied).
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
  -- Both filtered on run_id (the distribution key on Citus: one shard, a router statement).
  UPDATE agentpg_batch_requests q SET state = 'canceled', ended_at = now()
    WHERE q.run_id = p_run_id AND q.id IN (SELECT o.id FROM agentpg_batch_requests o
                    WHERE o.run_id = p_run_id AND o.state IN ('pending', 'submitting', 'submitted')
                    FOR UPDATE SKIP LOCKED);
  -- `queued` after the update: it was waiting, or woken from a wait; its job comes due now.
  IF v_state = 'queued' THEN
    PERFORM agentpg_set_run_job_start(v_job, agentpg_boss.job_now());
  END IF;
  run_state := v_state;
  run_job_id := v_job;
  RETURN NEXT;
END;
$$;
