/**
 * Overlap detection for ownership intervals: two owners of the same agent at the same time is the
 * one thing a failover must never produce. Pure functions (tested in test/bench/overlap.test.ts).
 */

export interface OwnershipInterval {
  /** The long-running agent. */
  agentId: string;
  /** Who owned it (instance id, process label). */
  owner: string;
  /** Fencing epoch of this ownership, when known. */
  epoch?: number | null;
  /** Milliseconds since the epoch (any common clock). */
  start: number;
  /** End of ownership; null/undefined = still owned (open until `now`). */
  end?: number | null;
}

export interface Overlap {
  agentId: string;
  a: OwnershipInterval;
  b: OwnershipInterval;
  /** Length of the overlap in ms (> toleranceMs). */
  overlapMs: number;
}

/**
 * Every pair of intervals of one agent, held by different owners or epochs, that overlap by more
 * than `toleranceMs`. Intervals that merely touch (one ends exactly when the next starts) do not
 * overlap. Sorting by start keeps it O(n log n + k) per agent for k overlaps.
 */
export function findOverlaps(
  intervals: readonly OwnershipInterval[],
  options: { now?: number; toleranceMs?: number } = {},
): Overlap[] {
  const now = options.now ?? Date.now();
  const tolerance = options.toleranceMs ?? 0;
  const byAgent = new Map<string, OwnershipInterval[]>();
  for (const iv of intervals) {
    if (!Number.isFinite(iv.start)) throw new RangeError(`interval of ${iv.agentId} has no start`);
    const list = byAgent.get(iv.agentId) ?? [];
    list.push(iv);
    byAgent.set(iv.agentId, list);
  }
  const out: Overlap[] = [];
  for (const [agentId, list] of byAgent) {
    list.sort((x, y) => x.start - y.start);
    // Active set: intervals whose end is after the current start.
    const active: OwnershipInterval[] = [];
    for (const iv of list) {
      for (let i = active.length - 1; i >= 0; i--) {
        if (endOf(active[i], now) <= iv.start + tolerance) active.splice(i, 1);
      }
      for (const other of active) {
        if (other.owner === iv.owner && (other.epoch ?? null) === (iv.epoch ?? null)) continue;
        const overlapMs = Math.min(endOf(other, now), endOf(iv, now)) - iv.start;
        if (overlapMs > tolerance) out.push({ agentId, a: other, b: iv, overlapMs });
      }
      active.push(iv);
    }
  }
  return out;
}

function endOf(iv: OwnershipInterval, now: number): number {
  return iv.end === null || iv.end === undefined ? now : iv.end;
}

/**
 * Builds closed intervals from a stream of start/stop events (as worker processes report them).
 * A start without a stop stays open, unless `killedAt` says when its process died.
 */
export function intervalsFromEvents(
  events: ReadonlyArray<{ type: 'start' | 'stop'; agentId: string; owner: string; epoch?: number | null; t: number }>,
  killedAt: ReadonlyMap<string, number> = new Map(),
): OwnershipInterval[] {
  const open = new Map<string, OwnershipInterval>();
  const done: OwnershipInterval[] = [];
  const key = (agentId: string, owner: string, epoch?: number | null) => `${agentId}\u0000${owner}\u0000${epoch ?? ''}`;
  for (const ev of [...events].sort((a, b) => a.t - b.t)) {
    const k = key(ev.agentId, ev.owner, ev.epoch);
    if (ev.type === 'start') {
      const prev = open.get(k);
      if (prev) done.push({ ...prev, end: ev.t });
      open.set(k, { agentId: ev.agentId, owner: ev.owner, epoch: ev.epoch ?? null, start: ev.t, end: null });
    } else {
      const iv = open.get(k);
      if (iv) {
        done.push({ ...iv, end: ev.t });
        open.delete(k);
      }
    }
  }
  for (const iv of open.values()) {
    const killed = killedAt.get(iv.owner);
    done.push(killed !== undefined && killed >= iv.start ? { ...iv, end: killed } : iv);
  }
  return done;
}
