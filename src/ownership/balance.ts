/**
 * Fair share of shards, computed by every instance from the same picture (pg_locks and
 * pg_stat_activity), with no coordinator:
 *
 *   m = live members (instances with a lock session), S = shards,
 *   target T = ceil(S / m), floor t = floor(S / m).
 *
 * - Claim: an instance below T try-locks free shards up to T. A shard that stayed free for longer
 *   than the orphan grace is claimed by anyone (a member that stopped claiming must not strand it).
 * - Shed: an instance above T hands shards over (handlers stop, checkpoints saved, unlock) only
 *   when other members are below t and the free shards do not cover their deficit, so a join
 *   moves shards and a steady state does not churn.
 * Steady state: everyone holds t or T shards, so the busiest holds at most ceil(S/m) / (S/m) of the
 * mean (1.003 for 1024 shards and 3 instances); agents are spread over shards round-robin.
 */
export interface BalanceInput {
  shardCount: number;
  /** Member tags (instances with a lock session), including this one. */
  members: string[];
  me: string;
  /** Every granted shard lock: shard and the holder's member tag (null: not a member). */
  locks: Array<{ shard: number; holder: string | null }>;
  /** Shards this instance holds and is not handing over. */
  mineActive: number;
  /** Shards that are free now and were already free longer than the orphan grace. */
  orphans: Set<number>;
}

export interface BalancePlan {
  target: number;
  floor: number;
  members: number;
  free: number[];
  /** Free shards to try, in order (at most the wanted count, plus orphans). */
  claim: number[];
  /** How many shards to hand over. */
  shed: number;
}

export function planBalance(input: BalanceInput): BalancePlan {
  const members = new Set(input.members);
  members.add(input.me);
  const m = members.size;
  const S = input.shardCount;
  const target = Math.ceil(S / m);
  const floor = Math.floor(S / m);
  const locked = new Set<number>();
  const heldBy = new Map<string, number>();
  for (const { shard, holder } of input.locks) {
    locked.add(shard);
    if (holder !== null) heldBy.set(holder, (heldBy.get(holder) ?? 0) + 1);
  }
  const free: number[] = [];
  for (let s = 0; s < S; s++) if (!locked.has(s)) free.push(s);

  let claim: number[] = [];
  if (input.mineActive < target && free.length > 0) {
    claim = shuffle(free.slice()).slice(0, target - input.mineActive);
  }
  const chosen = new Set(claim);
  for (const s of input.orphans) if (!chosen.has(s) && !locked.has(s) && s < S) claim.push(s);

  let shed = 0;
  if (input.mineActive > target) {
    let deficit = 0;
    for (const member of members) {
      if (member === input.me) continue;
      deficit += Math.max(0, floor - (heldBy.get(member) ?? 0));
    }
    const uncovered = deficit - free.length;
    if (uncovered > 0) shed = Math.min(input.mineActive - target, uncovered);
  }
  return { target, floor, members: m, free, claim, shed };
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
