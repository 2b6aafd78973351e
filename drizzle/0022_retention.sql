CREATE TABLE "agentpg_archive_compactions" (
	"session_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "agentpg_archive_compactions_pkey" PRIMARY KEY("session_id","number")
);
--> statement-breakpoint
CREATE TABLE "agentpg_archive_messages" (
	"session_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL,
	CONSTRAINT "agentpg_archive_messages_pkey" PRIMARY KEY("session_id","seq")
);
--> statement-breakpoint
CREATE TABLE "agentpg_archive_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_archive_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" varchar(255) NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_archive_tool_calls" (
	"id" uuid PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_retention_passes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agentpg_retention_passes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" uuid,
	"instance_id" varchar(255) NOT NULL,
	"mode" varchar(10) NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"batches" integer DEFAULT 0 NOT NULL,
	"sessions" integer DEFAULT 0 NOT NULL,
	"runs" integer DEFAULT 0 NOT NULL,
	"messages" integer DEFAULT 0 NOT NULL,
	"tool_calls" integer DEFAULT 0 NOT NULL,
	"compactions" integer DEFAULT 0 NOT NULL,
	"error" text,
	CONSTRAINT "agentpg_retention_passes_job_id_unique" UNIQUE("job_id"),
	CONSTRAINT "agentpg_retention_passes_mode_check" CHECK ("agentpg_retention_passes"."mode" in ('delete', 'archive'))
);
--> statement-breakpoint
CREATE TABLE "agentpg_session_holds" (
	"session_id" uuid PRIMARY KEY NOT NULL,
	"reason" text,
	"held_by" varchar(255),
	"held_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agentpg_session_holds" ADD CONSTRAINT "agentpg_session_holds_session_id_agentpg_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."agentpg_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agentpg_archive_runs_session_idx" ON "agentpg_archive_runs" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "agentpg_archive_sessions_tenant_idx" ON "agentpg_archive_sessions" USING btree ("tenant_id","archived_at");--> statement-breakpoint
CREATE INDEX "agentpg_archive_tool_calls_session_idx" ON "agentpg_archive_tool_calls" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "agentpg_retention_passes_started_idx" ON "agentpg_retention_passes" USING btree ("started_at");