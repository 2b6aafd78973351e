CREATE TABLE "agentpg_compactions" (
	"session_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid,
	"through_seq" bigint NOT NULL,
	"replacement" jsonb NOT NULL,
	"strategy" varchar(50) NOT NULL,
	"model" varchar(255),
	"messages_archived" integer NOT NULL,
	"tokens_before" integer NOT NULL,
	"tokens_after" integer NOT NULL,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_compactions_pkey" PRIMARY KEY("session_id","number")
);
--> statement-breakpoint
ALTER TABLE "agentpg_compactions" ADD CONSTRAINT "agentpg_compactions_session_id_agentpg_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."agentpg_sessions"("id") ON DELETE cascade ON UPDATE no action;