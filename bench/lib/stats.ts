/** Pure statistics helpers for the benchmarks (tested in test/bench/stats.test.ts). */

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks (the "R-7" method
 * spreadsheets and numpy use by default), so p50 of [1,2,3,4] is 2.5. Null for no samples.
 */
export function percentile(samples: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo);
}

export function mean(samples: readonly number[]): number | null {
  const xs = samples.filter((x) => Number.isFinite(x));
  if (xs.length === 0) return null;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function max(samples: readonly number[]): number | null {
  const xs = samples.filter((x) => Number.isFinite(x));
  return xs.length === 0 ? null : xs.reduce((a, b) => (b > a ? b : a), -Infinity);
}

export interface Summary {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: max(samples),
    mean: mean(samples),
  };
}

/** Rounds to `digits` decimals, keeping null; numbers in results.json stay readable. */
export function round(x: number | null | undefined, digits = 2): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** busiest / mean of per-owner counts (1.0 = perfectly even). Owners with zero count are included. */
export function maxOverMean(counts: readonly number[]): number | null {
  const m = mean(counts);
  if (m === null || m === 0) return null;
  return (max(counts) as number) / m;
}
