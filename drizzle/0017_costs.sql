-- [costs] What each model call cost (src/costs/prices.ts): on its assistant message, null for user
-- messages and for a model without a price. The views below sum it with the tokens.
ALTER TABLE "agentpg_messages" ADD COLUMN "cost_usd" numeric(18, 9);
--> statement-breakpoint

-- Spend per run: its model calls, tokens and cost (null when none of its calls had a price).
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
GROUP BY r.id;
--> statement-breakpoint

-- Spend per session.
CREATE OR REPLACE VIEW agentpg_session_costs AS
SELECT s.id AS session_id, s.tenant_id,
       count(m.seq) FILTER (WHERE m.role = 'assistant')::int AS model_calls,
       coalesce(sum(m.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(m.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(m.cache_creation_input_tokens), 0)::bigint AS cache_creation_input_tokens,
       coalesce(sum(m.cache_read_input_tokens), 0)::bigint AS cache_read_input_tokens,
       sum(m.cost_usd) AS cost_usd
FROM agentpg_sessions s
LEFT JOIN agentpg_messages m ON m.session_id = s.id
GROUP BY s.id;
--> statement-breakpoint

-- Spend per tenant and UTC day (filter on tenant_id: the sessions' tenant index, then each
-- session's messages by the primary key).
CREATE OR REPLACE VIEW agentpg_tenant_costs AS
SELECT s.tenant_id, date_trunc('day', m.created_at, 'UTC') AS day,
       count(*)::int AS model_calls,
       sum(m.input_tokens)::bigint AS input_tokens,
       sum(m.output_tokens)::bigint AS output_tokens,
       sum(m.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
       sum(m.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
       sum(m.cost_usd) AS cost_usd
FROM agentpg_sessions s
JOIN agentpg_messages m ON m.session_id = s.id
WHERE m.role = 'assistant'
GROUP BY s.tenant_id, date_trunc('day', m.created_at, 'UTC');
