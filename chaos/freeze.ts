import type { OwnershipInterval } from '../bench/lib/overlap.js';

/** One SIGSTOP … SIGCONT of an instance process (wall clock, bench/lib/child.ts wallClock()). */
export interface Freeze {
  owner: string;
  stoppedAt: number;
  continuedAt: number;
}

/**
 * The handler intervals as they executed around a freeze. A stopped process executes nothing, so
 * a handler interval of its that spans the freeze is cut at SIGSTOP. The stretch from SIGCONT to
 * the handler's reported stop is returned apart, as a late tail: the process runs again but has
 * not yet seen its lease lost (the first timers it runs may be its handler's own, before the lease
 * timer's), so that tail overlaps the new owner by design: a frozen process cannot know it was
 * frozen. What protects the agent there is the epoch fence, which the suite checks separately (no
 * fenced write accepted from a stale owner); the tails are reported, not counted as overlaps.
 */
export function cutAtFreezes(
  intervals: readonly OwnershipInterval[],
  freezes: readonly Freeze[],
): { intervals: OwnershipInterval[]; lateTails: OwnershipInterval[] } {
  const out: OwnershipInterval[] = [];
  const lateTails: OwnershipInterval[] = [];
  for (const iv of intervals) {
    const f = freezes.find(
      (z) =>
        z.owner === iv.owner &&
        iv.start < z.stoppedAt &&
        (iv.end === null || iv.end === undefined || iv.end > z.stoppedAt),
    );
    if (!f) {
      out.push(iv);
      continue;
    }
    out.push({ ...iv, end: f.stoppedAt });
    // Ended during the freeze (killed meanwhile): no tail.
    if (iv.end !== null && iv.end !== undefined && iv.end <= f.continuedAt) continue;
    lateTails.push({ ...iv, start: f.continuedAt });
  }
  return { intervals: out, lateTails };
}
