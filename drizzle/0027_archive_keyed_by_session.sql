-- Retention's archive of runs and tool calls keyed by session first (session_id, id): the tables'
-- distribution key on Citus (src/db/citus/layout.ts, test/db/citusReady.test.ts), and the lookups
-- by session the separate indexes served.
DROP INDEX "agentpg_archive_runs_session_idx";--> statement-breakpoint
DROP INDEX "agentpg_archive_tool_calls_session_idx";--> statement-breakpoint
ALTER TABLE "agentpg_archive_runs" DROP CONSTRAINT "agentpg_archive_runs_pkey";--> statement-breakpoint
ALTER TABLE "agentpg_archive_tool_calls" DROP CONSTRAINT "agentpg_archive_tool_calls_pkey";--> statement-breakpoint
ALTER TABLE "agentpg_archive_runs" ADD CONSTRAINT "agentpg_archive_runs_pkey" PRIMARY KEY("session_id","id");--> statement-breakpoint
ALTER TABLE "agentpg_archive_tool_calls" ADD CONSTRAINT "agentpg_archive_tool_calls_pkey" PRIMARY KEY("session_id","id");
