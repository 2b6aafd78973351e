CREATE TABLE "agentpg_api_keys" (
	"id" varchar(32) PRIMARY KEY NOT NULL,
	"name" varchar(255),
	"hash" varchar(64) NOT NULL,
	"role" varchar(20) NOT NULL,
	"tenant_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "agentpg_api_keys_role_check" CHECK ("agentpg_api_keys"."role" in ('admin', 'operator', 'tenant')),
	CONSTRAINT "agentpg_api_keys_tenants_check" CHECK (("agentpg_api_keys"."role" = 'tenant') = (cardinality("agentpg_api_keys"."tenant_ids") > 0))
);
