import { describe, expect, it } from 'vitest';
import { findOverlaps, intervalsFromEvents } from '../../bench/lib/overlap.js';

describe('findOverlaps', () => {
  it('finds two owners of one agent at the same time', () => {
    const overlaps = findOverlaps([
      { agentId: 'a', owner: 'p1', epoch: 1, start: 0, end: 100 },
      { agentId: 'a', owner: 'p2', epoch: 2, start: 90, end: 200 },
    ]);
    expect(overlaps).toHaveLength(1);
    expect(overlaps[0].overlapMs).toBe(10);
    expect(overlaps[0].a.owner).toBe('p1');
    expect(overlaps[0].b.owner).toBe('p2');
  });

  it('does not count intervals that only touch, or belong to different agents', () => {
    expect(
      findOverlaps([
        { agentId: 'a', owner: 'p1', start: 0, end: 100 },
        { agentId: 'a', owner: 'p2', start: 100, end: 200 },
        { agentId: 'b', owner: 'p3', start: 50, end: 150 },
      ]),
    ).toEqual([]);
  });

  it('treats an open interval as lasting until now', () => {
    const overlaps = findOverlaps(
      [
        { agentId: 'a', owner: 'p1', start: 0, end: null },
        { agentId: 'a', owner: 'p2', start: 500, end: 600 },
      ],
      { now: 1000 },
    );
    expect(overlaps).toHaveLength(1);
    expect(overlaps[0].overlapMs).toBe(100);
  });

  it('ignores overlaps within the tolerance and reports a nested interval once per pair', () => {
    const ivs = [
      { agentId: 'a', owner: 'p1', start: 0, end: 1000 },
      { agentId: 'a', owner: 'p2', start: 100, end: 200 },
      { agentId: 'a', owner: 'p3', start: 995, end: 1100 },
    ];
    const all = findOverlaps(ivs);
    expect(all.map((o) => [o.a.owner, o.b.owner])).toEqual([
      ['p1', 'p2'],
      ['p1', 'p3'],
    ]);
    expect(findOverlaps(ivs, { toleranceMs: 10 }).map((o) => o.b.owner)).toEqual(['p2']);
  });

  it('a re-start of the same owner and epoch is not an overlap with itself', () => {
    expect(
      findOverlaps([
        { agentId: 'a', owner: 'p1', epoch: 3, start: 0, end: 100 },
        { agentId: 'a', owner: 'p1', epoch: 3, start: 50, end: 150 },
      ]),
    ).toEqual([]);
  });
});

describe('intervalsFromEvents', () => {
  it('pairs starts with stops and closes a killed owner at its kill time', () => {
    const ivs = intervalsFromEvents(
      [
        { type: 'start', agentId: 'a', owner: 'p1', epoch: 1, t: 0 },
        { type: 'start', agentId: 'a', owner: 'p2', epoch: 2, t: 120 },
        { type: 'stop', agentId: 'a', owner: 'p2', epoch: 2, t: 300 },
      ],
      new Map([['p1', 100]]),
    );
    expect(ivs).toEqual(
      expect.arrayContaining([
        { agentId: 'a', owner: 'p2', epoch: 2, start: 120, end: 300 },
        { agentId: 'a', owner: 'p1', epoch: 1, start: 0, end: 100 },
      ]),
    );
    expect(findOverlaps(ivs)).toEqual([]);
  });

  it('a start of a still-open interval after the kill time stays open', () => {
    const ivs = intervalsFromEvents([{ type: 'start', agentId: 'a', owner: 'p1', t: 500 }], new Map([['p1', 100]]));
    expect(ivs[0].end).toBeNull();
  });
});
