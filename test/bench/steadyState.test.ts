import { describe, expect, it } from 'vitest';
import { steadyWindow, type RunInterval } from '../../bench/lib/steadyState.js';

/** `waves` waves of `slots` runs; each wave claimed over `rampMs`, each run `latencyMs` + `overheadMs`, the next wave claimed as runs end. */
function waves(slots: number, count: number, latencyMs: number, overheadMs: number, rampMs: number): RunInterval[] {
  const runs: RunInterval[] = [];
  for (let i = 0; i < slots; i++) {
    let start = (rampMs * i) / slots;
    for (let w = 0; w < count; w++) {
      const end = start + latencyMs + overheadMs;
      runs.push({ start, end });
      start = end;
    }
  }
  return runs;
}

describe('steadyWindow', () => {
  it('measures slots / cycle whatever the ramp-up and tail', () => {
    // Cycle 6 s per slot: 100 slots → 16.67 runs/s; the 2 s ramp and the tail do not count.
    const w = steadyWindow(waves(100, 5, 5000, 1000, 2000), 100)!;
    expect(w.runsPerS).toBeCloseTo(100 / 6, 0);
    expect(w.meanOccupied).toBeCloseTo(100, 0);
    expect(w.meanResidenceMs).toBeCloseTo(6000, 5);
    expect(w.rampMs).toBeCloseTo(1980, 5);
    expect(w.tailMs).toBeCloseTo(6000, 5);
  });

  it('sees empty slots: runs that start late lower occupancy and rate', () => {
    // Every run 5 s, but a slot is refilled only 2.5 s after its run ended.
    const runs: RunInterval[] = [];
    for (let i = 0; i < 10; i++) {
      let start = i;
      for (let k = 0; k < 4; k++) {
        runs.push({ start, end: start + 5000 });
        start += 7500;
      }
    }
    const w = steadyWindow(runs, 10)!;
    expect(w.runsPerS).toBeCloseTo(10 / 7.5, 1);
    expect(w.meanOccupied).toBeCloseTo(10 * (5 / 7.5), 0);
    expect(w.meanResidenceMs).toBe(5000);
  });

  it('never credits more than slots / run length, however long the ramp-up', () => {
    // Every run 5 s, slots refilled at once: at most 100 slots / 5 s = 20 runs/s.
    for (const rampMs of [1000, 4500, 7500]) {
      const w = steadyWindow(waves(100, 5, 5000, 0, rampMs), 100)!;
      expect(w.runsPerS).toBeLessThanOrEqual(20 + 1e-9);
      if (rampMs < 5000) expect(w.runsPerS).toBeCloseTo(20, 5);
    }
  });

  it('is null without a run beyond the first wave', () => {
    expect(steadyWindow(waves(10, 1, 5000, 0, 100), 10)).toBeNull();
    expect(steadyWindow([], 1)).toBeNull();
  });
});
