import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/lifecycle/backoff.js';
import { BackgroundService } from '../../src/lifecycle/backgroundService.js';
import { createErrorReporter, type ReportError } from '../../src/lifecycle/reportError.js';
import { sleep } from '../../src/lifecycle/sleep.js';
import type { Logger } from '../../src/logger.js';
import { until } from '../helpers/until.js';

/** A promise and its resolve, to hold a tick in flight until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const ignore: ReportError = () => {};

describe('BackgroundService', () => {
  it('ticks every interval once started, never before start', async () => {
    let ticks = 0;
    const s = new BackgroundService({ name: 't', intervalMs: 10, tick: async () => void ticks++, reportError: ignore });
    await sleep(50);
    expect(ticks).toBe(0);
    s.start();
    s.start(); // idempotent: still one loop
    await until(() => ticks >= 3);
    await s.stop();
  });

  it('stop() is idempotent, works on a service never started, and no tick runs after it', async () => {
    let ticks = 0;
    const s = new BackgroundService({ name: 't', intervalMs: 5, tick: async () => void ticks++, reportError: ignore });
    await s.stop();
    s.start();
    await until(() => ticks >= 1);
    await Promise.all([s.stop(), s.stop()]);
    const after = ticks;
    await s.wake(); // woken after stop: nothing runs
    await sleep(50);
    expect(ticks).toBe(after);
    expect(s.isRunning).toBe(false);
  });

  it('stop() during a tick waits for that tick to finish, and no tick starts after it', async () => {
    const g = gate();
    let started = 0;
    let finished = 0;
    const s = new BackgroundService({
      name: 't',
      intervalMs: 5,
      tick: async () => {
        started++;
        await g.promise;
        finished++;
      },
      reportError: ignore,
    });
    s.start();
    await until(() => started === 1);
    void s.wake(); // a wake queued behind the tick in flight must not run once stopped
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await sleep(30);
    expect(stopped).toBe(false);
    g.open();
    await stopping;
    expect(finished).toBe(1);
    await sleep(30);
    expect(started).toBe(1);
  });

  it('a tick that throws is reported and the loop goes on', async () => {
    const reported: Array<{ err: unknown; context?: string }> = [];
    let ticks = 0;
    const s = new BackgroundService({
      name: 'flaky',
      intervalMs: 5,
      errorBackoff: { baseMs: 1, maxMs: 5 },
      tick: async () => {
        ticks++;
        if (ticks <= 2) throw new Error(`boom ${ticks}`);
      },
      reportError: (err, context) => reported.push({ err, context }),
    });
    s.start();
    await until(() => ticks >= 4);
    await s.stop();
    expect(reported.map((r) => [(r.err as Error).message, r.context])).toEqual([
      ['boom 1', 'flaky'],
      ['boom 2', 'flaky'],
    ]);
    expect(s.consecutiveFailures).toBe(0);
  });

  it('a failed tick is logged with its stack (pino err field), secrets redacted, then given to onError', async () => {
    const lines: Array<Record<string, any>> = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        cb();
      },
    });
    const logger = pino({ level: 'warn' }, stream) as unknown as Logger;
    const onError: Error[] = [];
    const s = new BackgroundService({
      name: 'heartbeat',
      intervalMs: 5,
      tick: async () => {
        throw new Error('connect to postgres://u:hunter2@db/x failed');
      },
      reportError: createErrorReporter(logger, (e) => onError.push(e)),
    });
    s.start();
    await until(() => lines.length >= 1 && onError.length >= 1);
    await s.stop();
    const line = lines[0];
    expect(line.context).toBe('heartbeat');
    expect(line.err.name).toBe('Error');
    expect(line.err.message).toBe('connect to postgres://u:***@db/x failed');
    expect(line.err.stack).toContain('backgroundService.test.ts');
    expect(JSON.stringify(line)).not.toContain('hunter2');
    expect(onError[0].message).toContain('failed');
  });

  it('wake() ticks at once, coalesces wakes during a tick into one more tick, and resolves after it', async () => {
    let g = gate();
    let ticks = 0;
    const s = new BackgroundService({
      name: 't',
      intervalMs: 60_000,
      tick: async () => {
        ticks++;
        await g.promise;
      },
      reportError: ignore,
    });
    s.start();
    const first = s.wake();
    await until(() => ticks === 1);
    const a = s.wake();
    const b = s.wake();
    const held = g;
    g = gate();
    held.open();
    await until(() => ticks === 2);
    g.open();
    await Promise.all([first, a, b]);
    expect(ticks).toBe(2);
    await s.stop();
  });

  it('without an interval it ticks only when woken, and retries a failed tick with backoff until it succeeds', async () => {
    let ticks = 0;
    const s = new BackgroundService({
      name: 'reconnect',
      errorBackoff: { baseMs: 1, maxMs: 5 },
      tick: async () => {
        ticks++;
        if (ticks < 3) throw new Error('down');
      },
      reportError: ignore,
    });
    s.start();
    await sleep(30);
    expect(ticks).toBe(0);
    void s.wake();
    await until(() => ticks === 3);
    await sleep(30);
    expect(ticks).toBe(3);
    await s.stop();
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, jitter only ever shortening it', () => {
    for (let i = 0; i < 50; i++) {
      for (let attempt = 1; attempt <= 12; attempt++) {
        const full = Math.min(5000, 100 * 2 ** (attempt - 1));
        const d = backoffDelay(attempt, { baseMs: 100, maxMs: 5000 });
        expect(d).toBeGreaterThanOrEqual(full / 2);
        expect(d).toBeLessThanOrEqual(full);
      }
    }
  });

  it('is exact with jitter 0, capped, and finite for huge attempt counts', () => {
    expect([1, 2, 3, 4, 7].map((a) => backoffDelay(a, { baseMs: 1000, maxMs: 60_000, jitter: 0 }))).toEqual([
      1000, 2000, 4000, 8000, 60_000,
    ]);
    expect(backoffDelay(10_000, { baseMs: 1000, maxMs: 60_000, jitter: 0 })).toBe(60_000);
    expect(backoffDelay(0, { baseMs: 1000, maxMs: 60_000, jitter: 0 })).toBe(1000);
  });
});

describe('sleep', () => {
  it('resolves early (never rejects) when its signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect(sleep(60_000, ac.signal)).resolves.toBeUndefined();
  });
});
