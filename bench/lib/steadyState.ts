/**
 * The steady-state window of the concurrency metric, from the runs' own database timestamps.
 * Pure functions (tested in test/bench/steadyState.test.ts).
 *
 * The measured instance starts on a backlog of several waves of `slots` runs. Its first `slots`
 * claims are the ramp-up (every slot empty at once, filled 50 runs per fetch); after its last
 * claim the backlog is empty and in-flight can only drain (the tail). In between it always has
 * queued work, so an empty slot or a slow finalize is the instance's own doing. The window runs
 * from the `slots`-th start to the last start: both ends sit just after a burst of claims, so with
 * waves in step (5 s model calls that all began within a ramp) it spans whole cycles and its
 * phase does not flatter or penalize the rate.
 */

/** One run: claimed (started) and finalized, milliseconds on any common clock. */
export interface RunInterval {
  start: number;
  end: number;
}

export interface SteadyWindow {
  /** Window bounds (ms): the `slots`-th start and the last start. */
  from: number;
  to: number;
  /** Runs finalized inside (from, to]. */
  finalized: number;
  /**
   * Runs per second done inside the window: each run counts with the share of its claim →
   * finalize time that lies inside (a run half inside counts ½). Counting whole finalizes instead
   * would credit the window with runs mostly done before it whenever the ramp-up lasted longer
   * than a run (a slow ramp: the C-th claim comes after the first runs already finished).
   */
  runsPerS: number;
  /** Time-average of runs claimed and not yet finalized over the window (slots in use). */
  meanOccupied: number;
  /** Mean claim → finalize time of the runs that both started and finished inside the window. */
  meanResidenceMs: number | null;
  /** First start → `from`, and `to` → last finalize. */
  rampMs: number;
  tailMs: number;
}

/** Null when there are not more than `slots` runs (no run starts after the ramp: no window). */
export function steadyWindow(runs: readonly RunInterval[], slots: number): SteadyWindow | null {
  if (runs.length <= slots || slots < 1) return null;
  const starts = runs.map((r) => r.start).sort((a, b) => a - b);
  const from = starts[slots - 1];
  const to = starts[starts.length - 1];
  if (!(to > from)) return null;
  const finalized = runs.filter((r) => r.end > from && r.end <= to).length;
  // Slot-time used inside the window: each run's [start, end] clipped to [from, to].
  let occupiedMs = 0;
  let runsDone = 0;
  for (const r of runs) {
    const inWindow = Math.max(0, Math.min(r.end, to) - Math.max(r.start, from));
    occupiedMs += inWindow;
    if (inWindow > 0) runsDone += inWindow / (r.end - r.start);
  }
  const inside = runs.filter((r) => r.start >= from && r.end <= to);
  const lastEnd = runs.reduce((m, r) => Math.max(m, r.end), -Infinity);
  return {
    from,
    to,
    finalized,
    runsPerS: runsDone / ((to - from) / 1000),
    meanOccupied: occupiedMs / (to - from),
    meanResidenceMs: inside.length ? inside.reduce((s, r) => s + (r.end - r.start), 0) / inside.length : null,
    rampMs: from - starts[0],
    tailMs: lastEnd - to,
  };
}
