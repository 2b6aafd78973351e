-- Long-running agents: when the owner gives up restarting a handler that keeps throwing
-- (ownership.maxRestarts within ownership.restartWindowMs) the agent is set inactive and failed_at
-- says why it stopped; longRunning.start() clears it.
ALTER TABLE "agentpg_long_running_agents" ADD COLUMN "failed_at" timestamp with time zone;