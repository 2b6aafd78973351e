CREATE TABLE "agentpg_batch_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"custom_id" varchar(64) NOT NULL,
	"run_id" uuid NOT NULL,
	"turn" integer NOT NULL,
	"try" integer DEFAULT 1 NOT NULL,
	"model" varchar(255) NOT NULL,
	"params" jsonb NOT NULL,
	"state" varchar(20) DEFAULT 'pending' NOT NULL,
	"submission_id" uuid,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "agentpg_batch_requests_custom_id_check" CHECK ("agentpg_batch_requests"."custom_id" ~ '^[a-zA-Z0-9_-]{1,64}$'),
	CONSTRAINT "agentpg_batch_requests_state_check" CHECK ("agentpg_batch_requests"."state" in ('pending', 'submitting', 'submitted', 'succeeded', 'errored', 'canceled', 'expired'))
);
--> statement-breakpoint
CREATE TABLE "agentpg_batch_submissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" varchar(255),
	"state" varchar(20) DEFAULT 'creating' NOT NULL,
	"request_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"last_polled_at" timestamp with time zone,
	CONSTRAINT "agentpg_batch_submissions_state_check" CHECK ("agentpg_batch_submissions"."state" in ('creating', 'in_progress', 'ended', 'abandoned'))
);
--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD COLUMN "batch_mode" boolean;--> statement-breakpoint
ALTER TABLE "agentpg_batch_requests" ADD CONSTRAINT "agentpg_batch_requests_run_id_agentpg_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."agentpg_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_batch_requests" ADD CONSTRAINT "agentpg_batch_requests_submission_id_agentpg_batch_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."agentpg_batch_submissions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_batch_requests_custom_id_idx" ON "agentpg_batch_requests" USING btree ("custom_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_batch_requests_run_turn_idx" ON "agentpg_batch_requests" USING btree ("run_id","turn","try");--> statement-breakpoint
CREATE INDEX "agentpg_batch_requests_pending_idx" ON "agentpg_batch_requests" USING btree ("created_at") WHERE "agentpg_batch_requests"."state" = 'pending';--> statement-breakpoint
CREATE INDEX "agentpg_batch_requests_submission_idx" ON "agentpg_batch_requests" USING btree ("submission_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_batch_submissions_batch_id_idx" ON "agentpg_batch_submissions" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "agentpg_batch_submissions_open_idx" ON "agentpg_batch_submissions" USING btree ("state") WHERE "agentpg_batch_submissions"."state" in ('creating', 'in_progress');