import { describe, expect, it } from 'vitest';
import { nextCleanupDue } from '../../src/cluster/nextCleanupDue.js';

describe('nextCleanupDue', () => {
  it('is after the last pass even when that pass started in the slot after its own', () => {
    // Seen in CI: the pass of slot 12.000 started at 13.126; "slot + interval" said 13.000, before it.
    const startedAt = new Date(1796051613126);
    const due = nextCleanupDue({ startedAt }, 1000);
    expect(due.getTime()).toBeGreaterThan(startedAt.getTime());
    expect(due.getTime()).toBe(1796051614000);
  });

  it('rounds the interval up to whole seconds, slots aligned to the epoch', () => {
    expect(nextCleanupDue({ startedAt: new Date(10_200) }, 2500).getTime()).toBe(12_000);
    expect(nextCleanupDue({ startedAt: new Date(10_200) }, 10).getTime()).toBe(11_000);
  });

  it('is now when no pass ran yet', () => {
    expect(nextCleanupDue(null, 60_000, 5).getTime()).toBe(5);
  });
});
