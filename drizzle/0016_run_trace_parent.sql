-- The run's trace context (src/tracing/): the W3C traceparent the enqueue stores, so every
-- execution of the run, on whichever instance resumes it, parents its span on it and all of them
-- share one trace. Nullable, no default: adding it rewrites nothing and the claim stays HOT.
ALTER TABLE "agentpg_runs" ADD COLUMN "trace_parent" text;
