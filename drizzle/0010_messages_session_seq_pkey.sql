-- agentpg_messages: the primary key becomes (session_id, seq), which is also the order a
-- session's messages are read in, so the table has one index instead of two (the uuid primary key
-- cost a leaf insert per message and served no query). `id` stays, unique by construction.
ALTER TABLE "agentpg_messages" DROP CONSTRAINT "agentpg_messages_pkey";--> statement-breakpoint
DROP INDEX "agentpg_messages_session_seq_idx";--> statement-breakpoint
ALTER TABLE "agentpg_messages" ADD CONSTRAINT "agentpg_messages_pkey" PRIMARY KEY("session_id","seq");
