CREATE TABLE "agentpg_cleanup_passes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agentpg_cleanup_passes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" uuid,
	"slot" timestamp with time zone,
	"instance_id" varchar(255) NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"stale_instances" integer DEFAULT 0 NOT NULL,
	"stuck_runs" integer DEFAULT 0 NOT NULL,
	"released_runs" integer DEFAULT 0 NOT NULL,
	"freed_agents" integer DEFAULT 0 NOT NULL,
	"error" text,
	CONSTRAINT "agentpg_cleanup_passes_job_id_unique" UNIQUE("job_id")
);
--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "state_changed_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "agentpg_cleanup_passes_started_idx" ON "agentpg_cleanup_passes" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "agentpg_cleanup_passes_slot_idx" ON "agentpg_cleanup_passes" USING btree ("slot");--> statement-breakpoint
CREATE INDEX "agentpg_runs_state_changed_idx" ON "agentpg_runs" USING btree ("state_changed_at");