CREATE TABLE "agentpg_agents" (
	"name" varchar(255) PRIMARY KEY NOT NULL,
	"description" text,
	"model" varchar(255) NOT NULL,
	"system_prompt" text,
	"max_tokens" integer,
	"temperature" real,
	"tools" text[] DEFAULT '{}'::text[] NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_instance_agents" (
	"instance_id" varchar(255) NOT NULL,
	"agent_name" varchar(255) NOT NULL,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_instance_agents_instance_id_agent_name_pk" PRIMARY KEY("instance_id","agent_name")
);
--> statement-breakpoint
CREATE TABLE "agentpg_instance_tools" (
	"instance_id" varchar(255) NOT NULL,
	"tool_name" varchar(255) NOT NULL,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_instance_tools_instance_id_tool_name_pk" PRIMARY KEY("instance_id","tool_name")
);
--> statement-breakpoint
CREATE TABLE "agentpg_instances" (
	"id" varchar(255) PRIMARY KEY NOT NULL,
	"hostname" varchar(255),
	"pid" integer,
	"version" varchar(50),
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_tools" (
	"name" varchar(255) PRIMARY KEY NOT NULL,
	"description" text NOT NULL,
	"input_schema" jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "agentpg_messages_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"session_id" uuid NOT NULL,
	"run_id" uuid,
	"role" varchar(20) NOT NULL,
	"content" jsonb NOT NULL,
	"stop_reason" varchar(50),
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cache_creation_input_tokens" integer DEFAULT 0 NOT NULL,
	"cache_read_input_tokens" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_messages_role_check" CHECK ("agentpg_messages"."role" in ('user', 'assistant'))
);
--> statement-breakpoint
CREATE TABLE "agentpg_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"state" varchar(20) DEFAULT 'queued' NOT NULL,
	"agent_name" varchar(255) NOT NULL,
	"tenant_id" varchar(255) NOT NULL,
	"prompt" text NOT NULL,
	"response_text" text,
	"stop_reason" varchar(50),
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cache_creation_input_tokens" integer DEFAULT 0 NOT NULL,
	"cache_read_input_tokens" integer DEFAULT 0 NOT NULL,
	"tool_iterations" integer DEFAULT 0 NOT NULL,
	"error_message" text,
	"error_type" varchar(50),
	"instance_id" varchar(255),
	"idempotency_key" varchar(255),
	"job_id" uuid,
	"attempts" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone,
	"finalized_at" timestamp with time zone,
	CONSTRAINT "agentpg_runs_state_check" CHECK ("agentpg_runs"."state" in ('queued', 'running', 'completed', 'failed', 'cancelled')),
	CONSTRAINT "agentpg_runs_finalized_check" CHECK (("agentpg_runs"."state" in ('completed', 'failed', 'cancelled')) = ("agentpg_runs"."finalized_at" is not null)),
	CONSTRAINT "agentpg_runs_started_check" CHECK ("agentpg_runs"."state" in ('queued', 'cancelled') or "agentpg_runs"."started_at" is not null),
	CONSTRAINT "agentpg_runs_tokens_check" CHECK ("agentpg_runs"."input_tokens" >= 0 and "agentpg_runs"."output_tokens" >= 0)
);
--> statement-breakpoint
CREATE TABLE "agentpg_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" varchar(255) NOT NULL,
	"identifier" varchar(255) NOT NULL,
	"agent_name" varchar(255),
	"parent_session_id" uuid,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agentpg_tool_calls" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"tool_use_id" varchar(255) NOT NULL,
	"tool_name" varchar(255) NOT NULL,
	"input" jsonb NOT NULL,
	"state" varchar(20) DEFAULT 'pending' NOT NULL,
	"output" text,
	"is_error" boolean DEFAULT false NOT NULL,
	"error_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	CONSTRAINT "agentpg_tool_calls_state_check" CHECK ("agentpg_tool_calls"."state" in ('pending', 'running', 'succeeded', 'failed')),
	CONSTRAINT "agentpg_tool_calls_finished_check" CHECK (("agentpg_tool_calls"."state" in ('succeeded', 'failed')) = ("agentpg_tool_calls"."finished_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "agentpg_long_running_agents" (
	"id" varchar(255) PRIMARY KEY NOT NULL,
	"lock_key" bigint GENERATED ALWAYS AS IDENTITY (sequence name "agentpg_long_running_agents_lock_key_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" varchar(255) NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"shard" integer NOT NULL,
	"owner_instance_id" varchar(255),
	"epoch" bigint DEFAULT 0 NOT NULL,
	"checkpoint" jsonb,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"restart_count" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_activity_at" timestamp with time zone,
	"owned_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agentpg_long_running_agents_lock_key_unique" UNIQUE("lock_key"),
	CONSTRAINT "agentpg_long_running_agents_epoch_check" CHECK ("agentpg_long_running_agents"."epoch" >= 0)
);
--> statement-breakpoint
ALTER TABLE "agentpg_instance_agents" ADD CONSTRAINT "agentpg_instance_agents_instance_id_agentpg_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."agentpg_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_instance_agents" ADD CONSTRAINT "agentpg_instance_agents_agent_name_agentpg_agents_name_fk" FOREIGN KEY ("agent_name") REFERENCES "public"."agentpg_agents"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_instance_tools" ADD CONSTRAINT "agentpg_instance_tools_instance_id_agentpg_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."agentpg_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_instance_tools" ADD CONSTRAINT "agentpg_instance_tools_tool_name_agentpg_tools_name_fk" FOREIGN KEY ("tool_name") REFERENCES "public"."agentpg_tools"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_messages" ADD CONSTRAINT "agentpg_messages_session_id_agentpg_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."agentpg_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_messages" ADD CONSTRAINT "agentpg_messages_run_id_agentpg_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."agentpg_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_runs" ADD CONSTRAINT "agentpg_runs_session_id_agentpg_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."agentpg_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_sessions" ADD CONSTRAINT "agentpg_sessions_parent_session_id_agentpg_sessions_id_fk" FOREIGN KEY ("parent_session_id") REFERENCES "public"."agentpg_sessions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD CONSTRAINT "agentpg_tool_calls_run_id_agentpg_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."agentpg_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agentpg_tool_calls" ADD CONSTRAINT "agentpg_tool_calls_message_id_agentpg_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."agentpg_messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agentpg_instance_agents_agent_idx" ON "agentpg_instance_agents" USING btree ("agent_name");--> statement-breakpoint
CREATE INDEX "agentpg_instance_tools_tool_idx" ON "agentpg_instance_tools" USING btree ("tool_name");--> statement-breakpoint
CREATE INDEX "agentpg_instances_heartbeat_idx" ON "agentpg_instances" USING btree ("last_heartbeat_at");--> statement-breakpoint
CREATE INDEX "agentpg_messages_session_seq_idx" ON "agentpg_messages" USING btree ("session_id","seq");--> statement-breakpoint
CREATE INDEX "agentpg_messages_run_idx" ON "agentpg_messages" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "agentpg_runs_session_idx" ON "agentpg_runs" USING btree ("session_id","created_at");--> statement-breakpoint
CREATE INDEX "agentpg_runs_running_idx" ON "agentpg_runs" USING btree ("started_at") WHERE "agentpg_runs"."state" = 'running';--> statement-breakpoint
CREATE INDEX "agentpg_runs_instance_idx" ON "agentpg_runs" USING btree ("instance_id") WHERE "agentpg_runs"."state" = 'running';--> statement-breakpoint
CREATE INDEX "agentpg_runs_state_idx" ON "agentpg_runs" USING btree ("state","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_runs_idempotency_idx" ON "agentpg_runs" USING btree ("session_id","idempotency_key") WHERE "agentpg_runs"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "agentpg_sessions_tenant_identifier_idx" ON "agentpg_sessions" USING btree ("tenant_id","identifier");--> statement-breakpoint
CREATE INDEX "agentpg_sessions_parent_idx" ON "agentpg_sessions" USING btree ("parent_session_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agentpg_tool_calls_run_tool_use_idx" ON "agentpg_tool_calls" USING btree ("run_id","tool_use_id");--> statement-breakpoint
CREATE INDEX "agentpg_tool_calls_message_idx" ON "agentpg_tool_calls" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "agentpg_long_running_agents_shard_idx" ON "agentpg_long_running_agents" USING btree ("shard");--> statement-breakpoint
CREATE INDEX "agentpg_long_running_agents_owner_idx" ON "agentpg_long_running_agents" USING btree ("owner_instance_id");