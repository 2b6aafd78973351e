import { describe, expect, it } from 'vitest';
import { cpuMsPerUnit, cpuSnapshot } from '../../bench/lib/cpu.js';

describe('cpuMsPerUnit', () => {
  it('divides each process delta by the units, the server tree as one total', () => {
    const r = cpuMsPerUnit({ worker: 1, model: 0.5, postgres: 2 }, { worker: 4, model: 0.8, postgres: 3.5 }, 1000);
    expect(r).toEqual({ instance: 3, model: 0.3, postgres: 1.5, total: 4.8 });
  });

  it("sums a shared server's backends, a backend new since the first snapshot from zero", () => {
    const r = cpuMsPerUnit(
      { worker: 0, model: 0, postgres: new Map([[10, 1]]) },
      {
        worker: 0,
        model: 0,
        postgres: new Map([
          [10, 1.5],
          [11, 0.5],
        ]),
      },
      100,
    );
    expect(r.postgres).toBe(10);
  });

  it('is null for a process that could not be read, and for no units', () => {
    expect(cpuMsPerUnit({ worker: null, model: 1, postgres: 1 }, { worker: 2, model: 2, postgres: 2 }, 10)).toEqual({
      instance: null,
      model: 100,
      postgres: 100,
      total: null,
    });
    expect(
      cpuMsPerUnit({ worker: 0, model: 0, postgres: 0 }, { worker: 1, model: 1, postgres: 1 }, 0).total,
    ).toBeNull();
  });
});

describe('cpuSnapshot', () => {
  it("reads this process's CPU, and the backends a shared server's probe lists", async () => {
    const burn = Date.now() + 50;
    while (Date.now() < burn);
    const s = await cpuSnapshot({
      worker: process.pid,
      model: process.pid,
      postmaster: null,
      backends: async () => [],
    });
    expect(s.worker).toBeGreaterThan(0);
    expect(s.postgres).toEqual(new Map());
  });
});
