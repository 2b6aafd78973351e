ALTER TABLE "agentpg_messages" DROP CONSTRAINT "agentpg_messages_session_id_agentpg_sessions_id_fk";
--> statement-breakpoint
ALTER TABLE "agentpg_messages" DROP CONSTRAINT "agentpg_messages_run_id_agentpg_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" DROP CONSTRAINT "agentpg_tool_calls_run_id_agentpg_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" DROP CONSTRAINT "agentpg_tool_calls_message_id_agentpg_messages_id_fk";
--> statement-breakpoint
DROP INDEX "agentpg_messages_run_idx";--> statement-breakpoint
DROP INDEX "agentpg_runs_running_idx";--> statement-breakpoint
DROP INDEX "agentpg_runs_instance_idx";--> statement-breakpoint
DROP INDEX "agentpg_runs_state_idx";--> statement-breakpoint
DROP INDEX "agentpg_runs_state_changed_idx";--> statement-breakpoint
DROP INDEX "agentpg_tool_calls_message_idx";--> statement-breakpoint
CREATE INDEX "agentpg_runs_active_idx" ON "agentpg_runs" USING btree ("created_at") WHERE "agentpg_runs"."finalized_at" is null;--> statement-breakpoint
CREATE INDEX "agentpg_runs_finished_idx" ON "agentpg_runs" USING btree ("finalized_at") WHERE "agentpg_runs"."finalized_at" is not null;