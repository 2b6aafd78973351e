-- Long-running agents (issue 7): shard assignment and the owners view.
--
-- Every agent belongs to a shard, assigned at insert: shard = lock_key % (number of shards). lock_key
-- is an identity column, so agents are spread round-robin and evenly. The shard rows (ids 0..n-1)
-- are created by the first ownership manager that starts (ownership.shards, default 1024); if an
-- agent is inserted before that, this trigger creates the default 1024 itself.
CREATE OR REPLACE FUNCTION agentpg_long_running_assign_shard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF NEW.shard IS NULL THEN
    -- Shard ids are contiguous from 0 (rows are only ever added as generate_series(0, n-1)), so
    -- max(id) + 1 is the count, read from the primary key index.
    SELECT max(id) + 1 INTO n FROM agentpg_long_running_shards;
    IF n IS NULL THEN
      INSERT INTO agentpg_long_running_shards (id) SELECT g FROM generate_series(0, 1023) g ON CONFLICT DO NOTHING;
      SELECT max(id) + 1 INTO n FROM agentpg_long_running_shards;
    END IF;
    NEW.shard := (NEW.lock_key % n)::integer;
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agentpg_long_running_agents_assign_shard
  BEFORE INSERT ON agentpg_long_running_agents
  FOR EACH ROW EXECUTE FUNCTION agentpg_long_running_assign_shard();
--> statement-breakpoint
-- Each agent's owner as Postgres itself sees it: the holder of the session-level advisory lock
-- (1634168935 = 0x61677067, "agpg", shard) in this database. The two-int4 form shows in pg_locks as
-- classid = namespace, objid = shard, objsubid = 2. `recorded_owner_instance_id` is what agentpg
-- wrote in the table; `lock_application_name` is 'agentpg-lock:<instance id>' of the session that
-- really holds the lock (null: nobody holds it right now).
CREATE OR REPLACE VIEW agentpg_long_running_owners AS
SELECT
  a.id AS agent_id,
  a.kind,
  a.active,
  a.shard,
  a.epoch,
  a.owner_instance_id AS recorded_owner_instance_id,
  l.pid IS NOT NULL AS lock_held,
  l.pid AS lock_pid,
  s.application_name AS lock_application_name,
  CASE WHEN s.application_name LIKE 'agentpg-lock:%' THEN substr(s.application_name, 14) END AS lock_owner_tag,
  s.client_addr AS lock_client_addr,
  s.backend_start AS lock_backend_start,
  s.state_change AS lock_last_statement_at
FROM agentpg_long_running_agents a
LEFT JOIN pg_locks l
  ON l.locktype = 'advisory'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = 1634168935::oid
  AND l.objid = a.shard::oid
  AND l.objsubid = 2
  AND l.granted
LEFT JOIN pg_stat_activity s ON s.pid = l.pid;
