import { describe, expect, it } from 'vitest';
import { maxOverMean, mean, percentile, round, summarize } from '../../bench/lib/stats.js';

describe('percentile', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
    expect(percentile([10, 20], 25)).toBe(12.5);
  });

  it('p99 of 1..100 is just under the maximum', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 99)).toBeCloseTo(99.01, 10);
    expect(percentile(xs, 50)).toBe(50.5);
  });

  it('does not reorder the caller array and ignores non-finite samples', () => {
    const xs = [3, Number.NaN, 1, 2, Infinity];
    expect(percentile(xs, 50)).toBe(2);
    expect(xs[0]).toBe(3);
  });

  it('is null without samples and rejects a percentile outside 0..100', () => {
    expect(percentile([], 50)).toBeNull();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summaries', () => {
  it('summarize reports count, percentiles, max and mean', () => {
    const s = summarize([5, 1, 3]);
    expect(s).toEqual({ n: 3, p50: 3, p90: 4.6, p99: 4.96, max: 5, mean: 3 });
  });

  it('maxOverMean is busiest over mean, null when nothing is owned', () => {
    expect(maxOverMean([25, 25, 25, 25])).toBe(1);
    expect(maxOverMean([40, 20, 20, 20])).toBe(1.6);
    expect(maxOverMean([0, 0])).toBeNull();
    expect(maxOverMean([])).toBeNull();
  });

  it('round keeps null and rounds half away from zero at the requested digits', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(2.5, 0)).toBe(3);
    expect(round(null)).toBeNull();
    expect(round(Number.NaN)).toBeNull();
    expect(mean([])).toBeNull();
  });
});

import { costDelta, lsnDiff } from '../../bench/lib/dbCost.js';

describe('db cost arithmetic', () => {
  it('lsnDiff spans the 32-bit boundary of an LSN', () => {
    expect(lsnDiff('0/16B3748', '0/16B3848')).toBe(256);
    expect(lsnDiff('0/FFFFFF00', '1/00000100')).toBe(512);
    expect(() => lsnDiff('garbage', '0/1')).toThrow();
  });

  it('costDelta divides by the units and subtracts the harness own commits', () => {
    const d = costDelta({ xactCommit: 100, walLsn: '0/1000' }, { xactCommit: 412, walLsn: '0/2000' }, 100, 12);
    expect(d).toEqual({ commits_total: 300, wal_bytes_total: 4096, commits: 3, wal_bytes: 40.96 });
  });
});
