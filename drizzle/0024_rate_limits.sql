CREATE TABLE "agentpg_rate_limit_tenants" (
	"model" varchar(255) NOT NULL,
	"key_hash" varchar(64) NOT NULL,
	"tenant_id" varchar(255) NOT NULL,
	"recent_grants" double precision DEFAULT 0 NOT NULL,
	"decayed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"granted_at" timestamp with time zone,
	"refused_at" timestamp with time zone,
	CONSTRAINT "agentpg_rate_limit_tenants_pkey" PRIMARY KEY("model","key_hash","tenant_id")
);
--> statement-breakpoint
CREATE TABLE "agentpg_rate_limits" (
	"model" varchar(255) NOT NULL,
	"key_hash" varchar(64) NOT NULL,
	"requests_limit" integer,
	"requests_level" double precision,
	"requests_per_ms" double precision,
	"input_tokens_limit" integer,
	"input_tokens_level" double precision,
	"input_tokens_per_ms" double precision,
	"output_tokens_limit" integer,
	"output_tokens_level" double precision,
	"output_tokens_per_ms" double precision,
	"in_flight" double precision DEFAULT 0 NOT NULL,
	"refilled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"blocked_until" timestamp with time zone,
	"probing_until" timestamp with time zone,
	"grants" integer DEFAULT 0 NOT NULL,
	"refusals" integer DEFAULT 0 NOT NULL,
	"rate_limited" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_rate_limits_pkey" PRIMARY KEY("model","key_hash"),
	CONSTRAINT "agentpg_rate_limits_limits_check" CHECK (coalesce("agentpg_rate_limits"."requests_limit", 1) > 0)
);
--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "rate_limit_deferrals" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Cluster-wide rate limiting of model calls (issue 17, src/ratelimit/). Every instance takes
-- capacity from the same token bucket per (model, API key hash) before a model call, in ONE
-- statement: agentpg_rate_limit_acquire locks the bucket row, brings its levels up to date (the
-- refill is computed from refilled_at, never ticked), and either takes one request plus the
-- call's estimated input and output tokens, or refuses with how long to wait. Row lock = the
-- serialization point: two instances never both take the last request of a window.
--
-- Fairness: when capacity is scarce (less than two requests left), a tenant yields to another
-- tenant that was refused in the last 5 seconds, is still waiting (refused after its last grant)
-- and has fewer recent grants (decayed with a one-minute half-life). Capacity is never lost by
-- yielding: it stays in the bucket for the waiting tenant.
CREATE OR REPLACE FUNCTION agentpg_rate_limit_acquire(
  p_model text,
  p_key_hash text,
  p_tenant text,
  p_need_input double precision,
  p_need_output double precision,
  p_cfg_rpm integer,
  p_cfg_itpm integer,
  p_cfg_otpm integer
) RETURNS TABLE(granted boolean, wait_ms double precision, known boolean, probe boolean)
LANGUAGE plpgsql AS $$
DECLARE
  -- Read again once the row is locked: a time taken before the lock wait would be older than
  -- the refilled_at the previous holder wrote, and the refill in between would be counted twice.
  v_now timestamptz;
  b agentpg_rate_limits%ROWTYPE;
  v_elapsed double precision;
  r_lim double precision; r_rate double precision; r_lvl double precision;
  i_lim double precision; i_rate double precision; i_lvl double precision; i_need double precision := 0;
  o_lim double precision; o_rate double precision; o_lvl double precision; o_need double precision := 0;
  v_wait double precision := 0;
  v_in_flight double precision;
  v_mine double precision;
  v_granted boolean;
BEGIN
  SELECT * INTO b FROM agentpg_rate_limits WHERE model = p_model AND key_hash = p_key_hash FOR UPDATE;
  v_now := clock_timestamp();
  IF NOT FOUND THEN
    -- The first call ever for this model and key, with nothing configured: it goes alone as the
    -- probe (granted, known = false); its response's headers teach the limits (observe ends the
    -- probe). Calls arriving meanwhile wait for that, at most 5 s: the headers come at the start of
    -- the response, and a probe whose instance died before them (SIGKILL) is never ended, so every
    -- call of the model in the cluster waits the whole window (30 s was seen to hold a failover
    -- back that long). After the window calls go unlimited until a response teaches the limits.
    INSERT INTO agentpg_rate_limits (model, key_hash, refilled_at, probing_until)
      VALUES (p_model, p_key_hash, v_now,
              CASE WHEN p_cfg_rpm IS NULL AND p_cfg_itpm IS NULL AND p_cfg_otpm IS NULL
                   THEN v_now + interval '5 seconds' END)
      ON CONFLICT DO NOTHING;
    IF FOUND AND p_cfg_rpm IS NULL AND p_cfg_itpm IS NULL AND p_cfg_otpm IS NULL THEN
      RETURN QUERY SELECT true, 0::double precision, false, true;
      RETURN;
    END IF;
    SELECT * INTO b FROM agentpg_rate_limits WHERE model = p_model AND key_hash = p_key_hash FOR UPDATE;
    v_now := clock_timestamp();
  END IF;
  IF p_cfg_rpm IS NULL AND p_cfg_itpm IS NULL AND p_cfg_otpm IS NULL
     AND b.requests_limit IS NULL AND b.input_tokens_limit IS NULL AND b.output_tokens_limit IS NULL THEN
    IF b.blocked_until > v_now THEN
      RETURN QUERY SELECT false, (extract(epoch FROM b.blocked_until - v_now) * 1000)::double precision, true, false;
    ELSIF b.probing_until > v_now THEN
      RETURN QUERY SELECT false, least(100, extract(epoch FROM b.probing_until - v_now) * 1000)::double precision, true, false;
    ELSE
      -- The probe's response had no rate-limit headers: no limit to keep.
      RETURN QUERY SELECT true, 0::double precision, false, false;
    END IF;
    RETURN;
  END IF;
  v_elapsed := greatest(0, extract(epoch FROM v_now - b.refilled_at) * 1000);
  v_in_flight := b.in_flight * exp(-v_elapsed / 60000.0);

  -- A configured limit wins over a learned one; it refills over a minute. A learned one refills at
  -- the learned rate (the API's own window).
  r_lim := coalesce(p_cfg_rpm, b.requests_limit);
  r_rate := CASE WHEN p_cfg_rpm IS NOT NULL THEN p_cfg_rpm / 60000.0 ELSE coalesce(b.requests_per_ms, r_lim / 60000.0) END;
  -- Full at limit - in_flight: the API's own bucket is full at `limit` with those still to come.
  r_lvl := least(r_lim - v_in_flight, coalesce(b.requests_level, r_lim) + r_rate * v_elapsed);
  i_lim := coalesce(p_cfg_itpm, b.input_tokens_limit);
  i_rate := CASE WHEN p_cfg_itpm IS NOT NULL THEN p_cfg_itpm / 60000.0 ELSE coalesce(b.input_tokens_per_ms, i_lim / 60000.0) END;
  i_lvl := least(i_lim, coalesce(b.input_tokens_level, i_lim) + i_rate * v_elapsed);
  o_lim := coalesce(p_cfg_otpm, b.output_tokens_limit);
  o_rate := CASE WHEN p_cfg_otpm IS NOT NULL THEN p_cfg_otpm / 60000.0 ELSE coalesce(b.output_tokens_per_ms, o_lim / 60000.0) END;
  o_lvl := least(o_lim, coalesce(b.output_tokens_level, o_lim) + o_rate * v_elapsed);
  -- A call bigger than the whole bucket waits for a full bucket, not forever.
  IF i_lim IS NOT NULL THEN i_need := least(p_need_input, i_lim); END IF;
  IF o_lim IS NOT NULL THEN o_need := least(p_need_output, o_lim); END IF;

  IF b.blocked_until > v_now THEN v_wait := extract(epoch FROM b.blocked_until - v_now) * 1000; END IF;
  IF r_lvl < 1 THEN v_wait := greatest(v_wait, (1 - r_lvl) / r_rate); END IF;
  IF i_lvl < i_need THEN v_wait := greatest(v_wait, (i_need - i_lvl) / i_rate); END IF;
  IF o_lvl < o_need THEN v_wait := greatest(v_wait, (o_need - o_lvl) / o_rate); END IF;

  IF v_wait = 0 AND r_lvl < 2 THEN
    SELECT t.recent_grants * exp(-extract(epoch FROM v_now - t.decayed_at) / 86.5617) INTO v_mine
      FROM agentpg_rate_limit_tenants t
     WHERE t.model = p_model AND t.key_hash = p_key_hash AND t.tenant_id = p_tenant;
    IF EXISTS (
      SELECT 1 FROM agentpg_rate_limit_tenants t
       WHERE t.model = p_model AND t.key_hash = p_key_hash AND t.tenant_id <> p_tenant
         AND t.refused_at > v_now - interval '5 seconds'
         AND t.refused_at > coalesce(t.granted_at, '-infinity')
         AND t.recent_grants * exp(-extract(epoch FROM v_now - t.decayed_at) / 86.5617) < coalesce(v_mine, 0)
    ) THEN
      v_wait := (2 - r_lvl) / r_rate;
    END IF;
  END IF;
  v_granted := v_wait = 0;

  UPDATE agentpg_rate_limits SET
      requests_level = CASE WHEN v_granted THEN r_lvl - 1 ELSE r_lvl END,
      input_tokens_level = CASE WHEN v_granted THEN i_lvl - i_need ELSE i_lvl END,
      output_tokens_level = CASE WHEN v_granted THEN o_lvl - o_need ELSE o_lvl END,
      in_flight = v_in_flight + CASE WHEN v_granted THEN 1 ELSE 0 END,
      refilled_at = v_now,
      grants = grants + CASE WHEN v_granted THEN 1 ELSE 0 END,
      refusals = refusals + CASE WHEN v_granted THEN 0 ELSE 1 END,
      updated_at = v_now
    WHERE model = p_model AND key_hash = p_key_hash;

  INSERT INTO agentpg_rate_limit_tenants AS t (model, key_hash, tenant_id, recent_grants, decayed_at, granted_at, refused_at)
    VALUES (p_model, p_key_hash, p_tenant, CASE WHEN v_granted THEN 1 ELSE 0 END, v_now,
            CASE WHEN v_granted THEN v_now END, CASE WHEN v_granted THEN NULL ELSE v_now END)
    ON CONFLICT (model, key_hash, tenant_id) DO UPDATE SET
      recent_grants = t.recent_grants * exp(-extract(epoch FROM v_now - t.decayed_at) / 86.5617)
                      + CASE WHEN v_granted THEN 1 ELSE 0 END,
      decayed_at = v_now,
      granted_at = CASE WHEN v_granted THEN v_now ELSE t.granted_at END,
      refused_at = CASE WHEN v_granted THEN t.refused_at ELSE v_now END;

  RETURN QUERY SELECT v_granted, v_wait, true, false;
END
$$;
--> statement-breakpoint
-- What the API said about a call (src/ratelimit/headers.ts), in ONE statement: the limits, the
-- refill rate learned as (limit - remaining) / (reset - sent_at) (sent_at is before the API
-- counted the call, so the rate is never overestimated by the response's latency), levels brought
-- down to what the API says remains (never up: the API's remaining does not count calls granted
-- here after this one was sent), the reserved tokens settled against the call's real usage, and a
-- 429's retry-after as the cluster-wide blocked_until.
CREATE OR REPLACE FUNCTION agentpg_rate_limit_observe(
  p_model text,
  p_key_hash text,
  p_sent_at timestamptz,
  p_req_limit integer, p_req_remaining integer, p_req_reset timestamptz,
  p_in_limit integer, p_in_remaining integer, p_in_reset timestamptz,
  p_out_limit integer, p_out_remaining integer, p_out_reset timestamptz,
  p_in_refund double precision,
  p_out_refund double precision,
  p_blocked_until timestamptz,
  p_arrived boolean
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  -- Read again once the row is locked: a time taken before the lock wait would be older than
  -- the refilled_at the previous holder wrote, and the refill in between would be counted twice.
  v_now timestamptz;
  b agentpg_rate_limits%ROWTYPE;
  v_elapsed double precision;
  v_since_sent double precision;
  r_rate double precision; r_lvl double precision;
  i_rate double precision; i_lvl double precision;
  o_rate double precision; o_lvl double precision;
  v_in_flight double precision;
  v_learned boolean;
BEGIN
  INSERT INTO agentpg_rate_limits (model, key_hash, refilled_at) VALUES (p_model, p_key_hash, clock_timestamp())
    ON CONFLICT DO NOTHING;
  SELECT * INTO b FROM agentpg_rate_limits WHERE model = p_model AND key_hash = p_key_hash FOR UPDATE;
  v_now := clock_timestamp();
  v_since_sent := greatest(0, extract(epoch FROM v_now - p_sent_at) * 1000);
  -- A bucket of configured limits only (no headers ever): this function does not know their
  -- rates, so it leaves the levels and refilled_at to the acquire (refunds aside).
  v_learned := coalesce(b.requests_limit, b.input_tokens_limit, b.output_tokens_limit,
                        p_req_limit, p_in_limit, p_out_limit) IS NOT NULL;
  v_elapsed := greatest(0, extract(epoch FROM v_now - b.refilled_at) * 1000);
  -- The call this answers reached the API: no longer in flight (p_arrived: it was counted in).
  v_in_flight := greatest(0, b.in_flight * exp(-v_elapsed / 60000.0) - CASE WHEN p_arrived THEN 1 ELSE 0 END);
  r_lvl := least(b.requests_limit - v_in_flight, b.requests_level + coalesce(b.requests_per_ms, b.requests_limit / 60000.0) * v_elapsed);
  i_lvl := least(b.input_tokens_limit, b.input_tokens_level + coalesce(b.input_tokens_per_ms, b.input_tokens_limit / 60000.0) * v_elapsed);
  o_lvl := least(b.output_tokens_limit, b.output_tokens_level + coalesce(b.output_tokens_per_ms, b.output_tokens_limit / 60000.0) * v_elapsed);

  r_rate := agentpg_rate_limit_learn_rate(b.requests_limit, b.requests_per_ms, p_req_limit, p_req_remaining, p_req_reset, p_sent_at);
  i_rate := agentpg_rate_limit_learn_rate(b.input_tokens_limit, b.input_tokens_per_ms, p_in_limit, p_in_remaining, p_in_reset, p_sent_at);
  o_rate := agentpg_rate_limit_learn_rate(b.output_tokens_limit, b.output_tokens_per_ms, p_out_limit, p_out_remaining, p_out_reset, p_sent_at);
  IF p_req_limit IS NOT NULL THEN
    r_lvl := least(p_req_limit, coalesce(r_lvl, p_req_limit), p_req_remaining + r_rate * v_since_sent);
  END IF;
  IF p_in_limit IS NOT NULL THEN
    i_lvl := least(p_in_limit, coalesce(i_lvl, p_in_limit), p_in_remaining + i_rate * v_since_sent);
  END IF;
  IF p_out_limit IS NOT NULL THEN
    o_lvl := least(p_out_limit, coalesce(o_lvl, p_out_limit), p_out_remaining + o_rate * v_since_sent);
  END IF;

  UPDATE agentpg_rate_limits SET
      requests_limit = coalesce(p_req_limit, requests_limit),
      requests_per_ms = r_rate,
      requests_level = CASE WHEN v_learned THEN r_lvl ELSE requests_level END,
      input_tokens_limit = coalesce(p_in_limit, input_tokens_limit),
      input_tokens_per_ms = i_rate,
      input_tokens_level = CASE WHEN v_learned
                                THEN least(coalesce(p_in_limit, input_tokens_limit), i_lvl + coalesce(p_in_refund, 0))
                                ELSE input_tokens_level + coalesce(p_in_refund, 0) END,
      output_tokens_limit = coalesce(p_out_limit, output_tokens_limit),
      output_tokens_per_ms = o_rate,
      output_tokens_level = CASE WHEN v_learned
                                 THEN least(coalesce(p_out_limit, output_tokens_limit), o_lvl + coalesce(p_out_refund, 0))
                                 ELSE output_tokens_level + coalesce(p_out_refund, 0) END,
      in_flight = v_in_flight,
      refilled_at = CASE WHEN v_learned THEN v_now ELSE refilled_at END,
      blocked_until = CASE WHEN p_blocked_until IS NULL THEN blocked_until
                           ELSE greatest(blocked_until, p_blocked_until) END,
      rate_limited = rate_limited + CASE WHEN p_blocked_until IS NULL THEN 0 ELSE 1 END,
      probing_until = NULL,
      updated_at = v_now
    WHERE model = p_model AND key_hash = p_key_hash;
END
$$;
--> statement-breakpoint
-- A token bucket's refill rate per millisecond from one response: the API refills the bucket to
-- `limit` by `reset`, so (limit - remaining) / (reset - sent_at). `remaining` is rounded down, so
-- the deficit is taken at its midpoint (- 0.5), and only a deficit of at least a quarter of the
-- limit teaches anything (the rounding error of a small one is too large; tokens are even
-- rounded to thousands). Otherwise the earlier rate stays (or limit per minute, the API's
-- documented window). A new estimate is averaged with the earlier one (resets may have
-- one-second precision).
CREATE OR REPLACE FUNCTION agentpg_rate_limit_learn_rate(
  p_old_limit integer, p_old_rate double precision,
  p_limit integer, p_remaining integer, p_reset timestamptz, p_sent_at timestamptz
) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_limit IS NULL THEN p_old_rate
    WHEN p_limit - p_remaining < greatest(2, p_limit / 4.0) OR p_reset IS NULL OR p_reset <= p_sent_at THEN
      CASE WHEN p_old_limit = p_limit AND p_old_rate IS NOT NULL THEN p_old_rate ELSE p_limit / 60000.0 END
    WHEN p_old_rate IS NULL OR p_old_limit IS DISTINCT FROM p_limit THEN
      (p_limit - p_remaining - 0.5) / (extract(epoch FROM p_reset - p_sent_at) * 1000)
    ELSE 0.5 * p_old_rate + 0.5 * (p_limit - p_remaining - 0.5) / (extract(epoch FROM p_reset - p_sent_at) * 1000)
  END
$$;
