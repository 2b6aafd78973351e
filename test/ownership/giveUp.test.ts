import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentPG, type LongRunningAgentFailure } from '../../src/index.js';
import type { Logger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FAST_OWNERSHIP, waitFor } from './helpers.js';

function captureLogger(lines: Array<{ msg: string; obj: Record<string, unknown> }>): Logger {
  const make = (): Logger => {
    const log = (obj: object | string, msg?: string) =>
      lines.push(
        typeof obj === 'string' ? { msg: obj, obj: {} } : { msg: msg ?? '', obj: obj as Record<string, unknown> },
      );
    return { debug: log, info: log, warn: log, error: log, child: () => make() };
  };
  return make();
}

describe('long-running agents: give-up policy, created inactive, restore log lines', () => {
  let db: TestDatabase;
  let client: AgentPG;
  const logs: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const failures: LongRunningAgentFailure[] = [];
  const calls = new Map<string, number>();
  const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1);

  beforeAll(async () => {
    db = await createTestDatabase();
    // Two agents that exist before the instance starts: the start-up restore logs them.
    await db.query(`insert into agentpg_long_running_agents (id, kind) values ('pre-a', 'idle'), ('pre-b', 'idle')`);
    client = new AgentPG({
      databaseUrl: db.url,
      migrate: false,
      poolSize: 3,
      logger: captureLogger(logs),
      ownership: { ...FAST_OWNERSHIP, maxRestarts: 3, restartWindowMs: 60_000 },
      onLongRunningAgentFailed: (f) => failures.push(f),
      longRunning: [
        {
          kind: 'crash',
          handler: async (ctx) => {
            count(ctx.agentId);
            throw new Error(`always fails (attempt ${calls.get(ctx.agentId)}) postgres://u:hunter2@h/db`);
          },
        },
        {
          kind: 'idle',
          handler: async (ctx) => {
            count(ctx.agentId);
            await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
          },
        },
      ],
    });
    await client.start();
  });

  afterAll(async () => {
    await client?.stop();
    await db?.drop();
  });

  it('logs how many agents it found to restore, and each agent it restores with its epoch', async () => {
    await waitFor('pre-a and pre-b running', () => calls.has('pre-a') && calls.has('pre-b'));
    const found = logs.filter((l) => l.msg === 'found agents to restore');
    expect(found.reduce((n, l) => n + (l.obj.count as number), 0)).toBe(2);
    const restoring = logs.filter((l) => l.msg === 'restoring agent');
    expect(restoring.map((l) => l.obj.agentId).sort()).toEqual(['pre-a', 'pre-b']);
    expect(restoring.every((l) => l.obj.epoch === 1)).toBe(true);
    // The count comes before the agents it counts.
    expect(logs.findIndex((l) => l.msg === 'found agents to restore')).toBeLessThan(
      logs.findIndex((l) => l.msg === 'restoring agent'),
    );
  });

  it('a handler that always throws is given up after maxRestarts: failed, last error kept, hook fired once', async () => {
    await client.longRunning.start({ id: 'crash-1', kind: 'crash' });
    const failed = await waitFor(
      'crash-1 failed',
      async () => {
        const a = await client.longRunning.get('crash-1');
        return a.state === 'failed' ? a : null;
      },
      15_000,
    );
    expect(failed).toMatchObject({ active: false, ownerInstanceId: null, restartCount: 3 });
    expect(failed.failedAt).toBeInstanceOf(Date);
    expect(failed.lastError).toContain('always fails (attempt 4)');
    expect(failed.lastError).not.toContain('hunter2');
    // It stays stopped: no further attempts, the hook fired once.
    await new Promise((r) => setTimeout(r, 1500));
    expect(calls.get('crash-1')).toBe(4);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ agentId: 'crash-1', kind: 'crash', restartCount: 3 });
    expect(failures[0].lastError).toContain('attempt 4');
    expect(logs.filter((l) => l.msg.startsWith('long-running agent failed'))).toHaveLength(1);
    expect(client.longRunning.metrics()).toMatchObject({ agents_failed_total: 1, agent_restarts_total: 3 });
    expect((await client.longRunning.list({ active: false })).map((a) => a.id)).toContain('crash-1');

    // start() makes a failed agent active again, with a fresh give-up window.
    const again = await client.longRunning.start({ id: 'crash-1', kind: 'crash' });
    expect(again).toMatchObject({ state: 'active', failedAt: null });
    await waitFor('crash-1 failed again', () => failures.length === 2, 15_000);
    expect(calls.get('crash-1')).toBe(8);
  });

  it('active: false creates an agent without running it; start() later runs it', async () => {
    const created = await client.longRunning.start({ id: 'later-1', kind: 'idle', config: { x: 1 }, active: false });
    expect(created).toMatchObject({ id: 'later-1', active: false, state: 'stopped', config: { x: 1 } });
    await new Promise((r) => setTimeout(r, 1500)); // several sweeps and reconciles
    expect(calls.has('later-1')).toBe(false);
    expect((await client.longRunning.get('later-1')).ownerInstanceId).toBeNull();
    // active: false on an existing active agent changes its config only, never stops it.
    await client.longRunning.start({ id: 'pre-a', kind: 'idle', config: { y: 2 }, active: false });
    expect(await client.longRunning.get('pre-a')).toMatchObject({ active: true, config: { y: 2 } });

    const started = await client.longRunning.start({ id: 'later-1', kind: 'idle' });
    expect(started).toMatchObject({ active: true, state: 'active', config: { x: 1 } });
    await waitFor('later-1 running', () => calls.get('later-1') === 1, 5000);
  });

  it('rejects a non-boolean active', async () => {
    await expect(client.longRunning.start({ kind: 'idle', active: 'no' as unknown as boolean })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
