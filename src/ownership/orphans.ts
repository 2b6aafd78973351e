/**
 * Which unlocked shards are orphans, i.e. free in every snapshot for longer than a grace: only
 * then does an instance claim a shard above its share. A shard freed by a rebalance is normally
 * claimed within one sweep by the live member below its share; the grace keeps everyone else
 * from racing it for that shard.
 */
export class OrphanTracker {
  private readonly freeSince = new Map<number, number>();

  constructor(private readonly graceMs: number) {}

  /** Records this snapshot's locked shards and returns the orphans among the others. */
  observe(shardCount: number, locked: Set<number>, now: number): Set<number> {
    const orphans = new Set<number>();
    for (let s = 0; s < shardCount; s++) {
      if (locked.has(s)) this.freeSince.delete(s);
      else if (!this.freeSince.has(s)) this.freeSince.set(s, now);
      else if (now - this.freeSince.get(s)! >= this.graceMs) orphans.add(s);
    }
    return orphans;
  }

  /** This instance just locked the shard: it is no longer free. */
  taken(shard: number): void {
    this.freeSince.delete(shard);
  }
}
