CREATE TABLE "agentpg_long_running_ownership_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agentpg_long_running_ownership_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shard" integer NOT NULL,
	"epoch" bigint NOT NULL,
	"instance_id" varchar(255) NOT NULL,
	"lock_pid" integer,
	"acquired_at" timestamp with time zone NOT NULL,
	"released_at" timestamp with time zone,
	"release_reason" varchar(50)
);
--> statement-breakpoint
CREATE TABLE "agentpg_long_running_shards" (
	"id" integer PRIMARY KEY NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"owner_instance_id" varchar(255),
	"acquired_at" timestamp with time zone,
	CONSTRAINT "agentpg_long_running_shards_id_check" CHECK ("agentpg_long_running_shards"."id" >= 0)
);
--> statement-breakpoint
CREATE INDEX "agentpg_long_running_ownership_log_shard_idx" ON "agentpg_long_running_ownership_log" USING btree ("shard","acquired_at");--> statement-breakpoint
CREATE INDEX "agentpg_long_running_ownership_log_open_idx" ON "agentpg_long_running_ownership_log" USING btree ("shard") WHERE "agentpg_long_running_ownership_log"."released_at" is null;--> statement-breakpoint
CREATE INDEX "agentpg_long_running_ownership_log_released_idx" ON "agentpg_long_running_ownership_log" USING btree ("released_at");--> statement-breakpoint
ALTER TABLE "agentpg_long_running_agents" ADD CONSTRAINT "agentpg_long_running_agents_shard_agentpg_long_running_shards_id_fk" FOREIGN KEY ("shard") REFERENCES "public"."agentpg_long_running_shards"("id") ON DELETE no action ON UPDATE no action;