import { describe, expect, it } from 'vitest';
import { findOverlaps } from '../../bench/lib/overlap.js';
import { cutAtFreezes } from '../../chaos/freeze.js';

describe('cutAtFreezes (the chaos suite’s SIGSTOP scenario)', () => {
  const freeze = { owner: 'p1', stoppedAt: 100, continuedAt: 1000 };

  it('cuts a frozen owner’s handler at SIGSTOP and returns the stretch after SIGCONT apart', () => {
    const { intervals, lateTails } = cutAtFreezes(
      [
        { agentId: 'a', owner: 'p1', epoch: 1, start: 0, end: 1010 },
        { agentId: 'a', owner: 'p2', epoch: 2, start: 900, end: null },
      ],
      [freeze],
    );
    expect(intervals).toEqual([
      { agentId: 'a', owner: 'p1', epoch: 1, start: 0, end: 100 },
      { agentId: 'a', owner: 'p2', epoch: 2, start: 900, end: null },
    ]);
    expect(lateTails).toEqual([{ agentId: 'a', owner: 'p1', epoch: 1, start: 1000, end: 1010 }]);
    expect(findOverlaps(intervals, { now: 2000 })).toEqual([]);
  });

  it('leaves other owners, intervals before the freeze and intervals started after it alone', () => {
    const untouched = [
      { agentId: 'a', owner: 'p2', epoch: 2, start: 0, end: 500 },
      { agentId: 'b', owner: 'p1', epoch: 1, start: 0, end: 100 },
      { agentId: 'c', owner: 'p1', epoch: 3, start: 1200, end: null },
    ];
    expect(cutAtFreezes(untouched, [freeze])).toEqual({ intervals: untouched, lateTails: [] });
  });

  it('has no tail for a handler that ended during the freeze (its process was killed then)', () => {
    const { intervals, lateTails } = cutAtFreezes([{ agentId: 'a', owner: 'p1', start: 0, end: 400 }], [freeze]);
    expect(intervals).toEqual([{ agentId: 'a', owner: 'p1', start: 0, end: 100 }]);
    expect(lateTails).toEqual([]);
  });
});
