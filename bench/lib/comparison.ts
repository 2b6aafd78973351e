/**
 * Whether a same-run throughput comparison may be printed as a ratio. Pure functions (tested in
 * test/bench/comparison.test.ts); the rules are stated in bench/README.md ("Long enough, not
 * stalled").
 *
 * A ratio of two rates is only worth printing when each rate is a measurement of work, not of an
 * accident: a side that finished in a fraction of a second measured its start-up, and a side that
 * sat idle for a while (a worker asleep until its next poll while jobs waited) measured the sleep.
 * A too-short side withholds the ratio; a stalled side keeps its ratio but is flagged instead of
 * getting a target mark.
 */

/** Each side must run at least this long (first job created → last one finished)… */
export const MIN_SPAN_S = 2;
/** …and finish at least this many jobs. */
export const MIN_JOBS = 1000;
/**
 * A side stalled when it finished nothing for longer than both of these: a pause of a tenth of
 * the window moves the rate by more than a tenth, so the rate then measures the pause. The
 * absolute floor is twice the baseline's 0.5 s poll interval; the share keeps a busy machine's
 * pauses, which hit both sides alike (seconds-long on a 2-core machine at load 20, in a window of
 * a minute), from counting as a stall.
 */
export const STALL_MIN_MS = 1000;
export const STALL_SHARE_OF_SPAN = 0.1;

/** What one side of the throughput comparison did, from the database's own timestamps. */
export interface SideRun {
  /** e.g. "agentpg" or "bare pg-boss". */
  label: string;
  /** Jobs (runs) finished. */
  jobs: number;
  /** First created → last finished, seconds. */
  spanS: number;
  /** Longest time without a completion: first created → first finished, and between consecutive finishes (ms). */
  longestGapMs: number;
}

export type Verdict =
  | { kind: 'ok'; ratio: number }
  | { kind: 'too_short'; ratio: null; reason: string }
  | { kind: 'stalled'; ratio: number; reason: string };

/**
 * The longest stretch without a completion, from the first job's creation: the wait for the first
 * finish, then every gap between consecutive finishes (any order in; ms on any common clock).
 */
export function longestGapMs(firstCreated: number, finishes: readonly number[]): number {
  const xs = [...finishes].sort((a, b) => a - b);
  let longest = 0;
  let prev = firstCreated;
  for (const x of xs) {
    longest = Math.max(longest, x - prev);
    prev = x;
  }
  return longest;
}

/** Null when the side ran long enough, else why not. */
export function tooShort(side: SideRun): string | null {
  const short: string[] = [];
  if (!(side.spanS >= MIN_SPAN_S)) short.push(`${round1(side.spanS)} s < ${MIN_SPAN_S} s`);
  if (!(side.jobs >= MIN_JOBS)) short.push(`${side.jobs} jobs < ${MIN_JOBS}`);
  return short.length ? `${side.label} ran ${short.join(', ')}` : null;
}

/** The longest pause a side may have without counting as stalled (ms). */
export function stallLimitMs(side: SideRun): number {
  return Math.max(STALL_MIN_MS, STALL_SHARE_OF_SPAN * side.spanS * 1000);
}

/** Null when the side never paused past stallLimitMs, else the pause. */
export function stalled(side: SideRun): string | null {
  const limit = stallLimitMs(side);
  return side.longestGapMs > limit
    ? `${side.label} finished nothing for ${round1(side.longestGapMs / 1000)} s of ${round1(side.spanS)} s (> ${round1(limit / 1000)} s)`
    : null;
}

/**
 * measured / baseline rate, or why it is not printed (too short) or not trusted (stalled).
 * `names` words the reason: which side is the baseline (the bare pg-boss one, or the no-database
 * limit) and which the measured one.
 */
export function judgeThroughput(
  measured: SideRun,
  baseline: SideRun,
  names: { baseline: string; measured: string } = { baseline: 'baseline', measured: 'measured side' },
): Verdict {
  const short = [tooShort(baseline), tooShort(measured)].filter((x): x is string => x !== null);
  if (short.length) {
    const who = `${tooShort(baseline) ? names.baseline : names.measured} too short`;
    return { kind: 'too_short', ratio: null, reason: `${who}: ${short.join('; ')}` };
  }
  const ratio = measured.jobs / measured.spanS / (baseline.jobs / baseline.spanS);
  const stalls = [stalled(baseline), stalled(measured)].filter((x): x is string => x !== null);
  if (stalls.length) return { kind: 'stalled', ratio, reason: `stalled: ${stalls.join('; ')}` };
  return { kind: 'ok', ratio };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
