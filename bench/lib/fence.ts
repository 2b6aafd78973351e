import type pg from 'pg';
import { findOverlaps, type OwnershipInterval, type Overlap } from './overlap.js';

/**
 * The harness's own audit of fenced writes. Long-running handlers insert into
 * bench_fenced_writes through `ctx.fenced()`, and a BEFORE INSERT trigger stamps each row with the
 * agent's epoch and owner AT THE MOMENT THE WRITE IS ACCEPTED. A row whose writer epoch differs
 * from the stamped one is a fenced write accepted from a stale owner. Created in the benchmark's
 * own database only; agentpg's schema is untouched.
 */
export const FENCE_AUDIT_SQL = `
create table if not exists bench_fenced_writes (
  id bigint generated always as identity primary key,
  agent_id text not null,
  epoch bigint not null,
  instance_id text not null,
  seq integer not null,
  current_epoch bigint,
  current_owner text,
  written_at timestamptz not null default clock_timestamp()
);
create or replace function bench_fenced_writes_stamp() returns trigger language plpgsql as $$
begin
  select epoch, owner_instance_id into NEW.current_epoch, NEW.current_owner
  from agentpg_long_running_agents where id = NEW.agent_id;
  return NEW;
end;
$$;
drop trigger if exists bench_fenced_writes_stamp on bench_fenced_writes;
create trigger bench_fenced_writes_stamp before insert on bench_fenced_writes
  for each row execute function bench_fenced_writes_stamp();
`;

export async function installFenceAudit(db: { query(text: string): Promise<unknown> }): Promise<void> {
  await db.query(FENCE_AUDIT_SQL);
}

/** Fenced writes the database accepted although the writer's epoch was not the current one. */
export async function staleWritesAccepted(pool: pg.Pool | pg.Client): Promise<{ accepted: number; total: number }> {
  const { rows } = await pool.query<{ stale: string; total: string }>(
    `select count(*) filter (where current_epoch is distinct from epoch) as stale, count(*) as total from bench_fenced_writes`,
  );
  return { accepted: Number(rows[0].stale), total: Number(rows[0].total) };
}

/**
 * Overlaps of ownership intervals as agentpg logged them (agentpg_long_running_ownership_log,
 * one row per shard acquisition): intervals of different epochs of one shard must not overlap.
 * An interval still open (released_at null) ends at the next epoch's acquisition if the log has
 * one (a vanished owner's row is closed by the next owner), else it is open until now.
 */
export async function ownershipLogOverlaps(
  pool: pg.Pool | pg.Client,
  shards?: number[],
): Promise<{ overlaps: Overlap[]; intervals: number; available: boolean }> {
  const exists = await pool.query(`select to_regclass('agentpg_long_running_ownership_log') is not null as ok`);
  if (!exists.rows[0].ok) return { overlaps: [], intervals: 0, available: false };
  const { rows } = await pool.query<{ shard: number; epoch: string; instance_id: string; a: number; r: number | null }>(
    `select shard, epoch, instance_id, extract(epoch from acquired_at) * 1000 as a, extract(epoch from released_at) * 1000 as r
     from agentpg_long_running_ownership_log where ($1::int[] is null or shard = any($1::int[]))`,
    [shards ?? null],
  );
  const intervals: OwnershipInterval[] = rows.map((r) => ({
    agentId: `shard-${r.shard}`,
    owner: r.instance_id,
    epoch: Number(r.epoch),
    start: Number(r.a),
    end: r.r === null ? null : Number(r.r),
  }));
  return { overlaps: findOverlaps(intervals), intervals: intervals.length, available: true };
}
