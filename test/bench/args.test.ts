import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/lib/args.js';
import { BENCH_DIR } from '../../bench/lib/context.js';

describe('bench command line', () => {
  it('writes a full run to latest.json and a subset (--only) to latest-only.json, so a subset never blanks the full report', () => {
    expect(parseArgs([]).out).toBe(path.join(BENCH_DIR, 'results/latest.json'));
    expect(parseArgs(['--quick']).out).toBe(path.join(BENCH_DIR, 'results/latest.json'));
    const subset = parseArgs(['--only', 'throughput,batch_mode']);
    expect(subset.out).toBe(path.join(BENCH_DIR, 'results/latest-only.json'));
    expect([...subset.only!]).toEqual(['throughput', 'batch_mode']);
    expect(parseArgs(['--only', 'throughput', '--out', '/tmp/x.json']).out).toBe('/tmp/x.json');
  });

  it('refuses an unknown metric and a soak too small to mean anything', () => {
    expect(() => parseArgs(['--only', 'throughput,nope'])).toThrow(/unknown metric "nope"/);
    expect(() => parseArgs(['--soak-rows', '10'])).toThrow(/--soak-rows/);
  });
});
