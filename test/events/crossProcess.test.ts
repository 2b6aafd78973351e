import { afterAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { spawnInstance, type InstanceProcess } from '../fixtures/cluster-spawn.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

let db: TestDatabase;
let fake: FakeAnthropic;
const procs: InstanceProcess[] = [];
test.beforeAll(async ({ db: testDb }) => {
  db = testDb;
  fake = await startFakeAnthropic({ defaultReply: { text: 'done' } });
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await fake?.close();
});

const LIFECYCLE = ['queued', 'running', 'completed'];

describe('run events across processes', () => {
  it('a subscriber sees every state change of runs made in another process, in order, and catches up after pg_terminate_backend', async () => {
    const env = (id: string, subscribe = '') => ({
      AGENTPG_DATABASE_URL: db.url,
      AGENTPG_FAKE_URL: fake.url,
      AGENTPG_INSTANCE_ID: id,
      AGENTPG_SUBSCRIBE: subscribe,
    });
    const [maker, sub] = await Promise.all([
      spawnInstance(env('ep-maker')),
      spawnInstance(env('ep-sub', 'run_state_changed,resync')),
    ]);
    procs.push(maker, sub);
    const eventsOf = (runId: string) =>
      sub.lines.filter((l) => l.type === 'event' && l.event.runId === runId).map((l) => l.event);
    const allCompleted = async (ids: string[]) =>
      (
        await db.query(`select count(*)::int as n from agentpg_runs where id = any($1) and state = 'completed'`, [ids])
      )[0].n === ids.length;

    // 1. Connected all along: every transition, in order, with the previous state.
    const first: string[] = [];
    for (let i = 0; i < 4; i++) first.push((await maker.command('enqueue', { prompt: `first ${i}` })).runId);
    await until(() => allCompleted(first));
    for (const runId of first) {
      await until(() => eventsOf(runId).length >= 3);
      expect(eventsOf(runId).map((e) => [e.previousState, e.state, e.catchUp])).toEqual([
        [null, 'queued', false],
        ['queued', 'running', false],
        ['running', 'completed', false],
      ]);
      expect(eventsOf(runId)[0]).toMatchObject({ sessionId: expect.any(String), agentName: 'echo', tenantId: 't1' });
    }

    // 2. Its LISTEN connection is terminated while more runs are made.
    const { pid } = await sub.command('listenerPid');
    const [backend] = await db.query(`select application_name from pg_stat_activity where pid = $1`, [pid]);
    expect(backend.application_name).toBe('agentpg-listener');
    await db.query(`select pg_terminate_backend($1)`, [pid]);
    const second: string[] = [];
    for (let i = 0; i < 4; i++) second.push((await maker.command('enqueue', { prompt: `second ${i}` })).runId);
    await until(() => allCompleted(second));

    // Signalled: a resync after the reconnect...
    const resync = await until(() => sub.lines.find((l) => l.type === 'event' && l.event.type === 'resync'));
    expect(resync.event).toMatchObject({ reconnects: 1, runsCaughtUp: true });
    expect(sub.lines.some((l) => l.type === 'error' && /terminat/i.test(l.message))).toBe(true);
    // ...and delivered: every run's final state arrives, live or re-read (catchUp).
    for (const runId of second) await until(() => eventsOf(runId).some((e) => e.state === 'completed'));
    // Live events of a run still arrive in order (re-reads report the current state only).
    for (const runId of [...first, ...second]) {
      const live = eventsOf(runId)
        .filter((e) => !e.catchUp)
        .map((e) => LIFECYCLE.indexOf(e.state));
      expect(live).toEqual([...live].sort((x, y) => x - y));
    }
    const newPid = (await sub.command('listenerPid')).pid;
    expect(newPid).not.toBe(pid);
  }, 180_000);
});
