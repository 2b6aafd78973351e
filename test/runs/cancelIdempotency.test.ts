import { describe, expect } from 'vitest';
import { RunCancelledError } from '../../src/index.js';
import { RUN_CANCEL_CHANNEL } from '../../src/events/channels.js';
import { testTwoInstances as test } from './fixtures.js';
import { untilValue } from '../helpers/until.js';
import { untilRunState } from './helpers.js';

describe('cancel', () => {
  test('aborts the in-flight model call of a running run, from another instance, without waiting for its answer', async ({
    fake,
    a,
    b,
  }) => {
    fake.reset();
    fake.enqueue({ text: 'too slow', latencyMs: 30_000 });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'cancel' });
    const runId = await a.agent('chat').enqueue(sessionId, 'take your time');
    await fake.waitForRequests(1, 10_000);
    const running = await untilRunState(a, runId, 'running');
    // Cancel from whichever instance is NOT executing it.
    const other = running.instanceId === a.instanceId ? b : a;
    const t0 = Date.now();
    await other.runs.cancel(runId);
    const run = await other.runs.wait(runId, { timeoutMs: 5000 });
    const elapsed = Date.now() - t0;
    expect(run.state).toBe('cancelled');
    expect(run.cancelRequestedAt).toBeInstanceOf(Date);
    // The model would answer after 30 s: well before that, the call was aborted (how soon is the
    // benchmark's business; a bound in seconds here would only measure the machine's load).
    expect(elapsed).toBeLessThan(15_000);
    await untilValue(
      async () => fake.requests[0].aborted,
      (x) => x === true,
      2000,
    );
    expect(fake.stats.aborted).toBe(1);
    // The job went with the run, so the session is not blocked.
    fake.enqueue({ text: 'next' });
    expect((await a.agent('chat').run(sessionId, 'again')).text).toBe('next');
  });

  test('a cancel heard before the execution is registered still cancels it', async ({ db, fake, a }) => {
    fake.reset();
    fake.enqueue({ text: 'first, slowly', latencyMs: 1500 });
    fake.enqueue({ text: 'second: must not run' });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'cancel-before-start' });
    const first = await a.agent('chat').enqueue(sessionId, 'one');
    const second = await a.agent('chat').enqueue(sessionId, 'two');
    expect((await a.runs.get(second))!.state).toBe('queued');
    // The claim commits before the worker registers the execution, so a cancel's NOTIFY can come
    // first. Here it comes before the claim, with nothing stored: only the worker's memory of the
    // notification can cancel the run once it is claimed.
    await db.query(`select pg_notify('${RUN_CANCEL_CHANNEL}', json_build_object('run_id', $1::uuid)::text)`, [second]);
    expect((await a.runs.wait(first)).state).toBe('completed');
    expect((await a.runs.wait(second, { timeoutMs: 10_000 })).state).toBe('cancelled');
    expect(fake.requests).toHaveLength(1);
  });

  test('cancels a queued run directly (state cancelled, job deleted, never executed)', async ({ db, fake, a, b }) => {
    fake.reset();
    fake.enqueue({ text: 'first, slowly', latencyMs: 1500 });
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'queued-cancel' });
    const first = await a.agent('chat').enqueue(sessionId, 'one');
    const second = await a.agent('chat').enqueue(sessionId, 'two');
    // The second waits behind the first (same session).
    expect((await a.runs.get(second))!.state).toBe('queued');
    const after = await b.runs.cancel(second);
    expect(after.state).toBe('cancelled');
    expect(after.startedAt).toBeNull();
    await expect(a.runs.result(second)).rejects.toBeInstanceOf(RunCancelledError);
    expect((await a.runs.wait(first)).state).toBe('completed');
    // Its job left the session's FIFO (deleted), so nothing waits behind it.
    expect(
      await db.query(`select state from agentpg_boss.job where id = (select job_id from agentpg_runs where id = $1)`, [
        second,
      ]),
    ).toEqual([]);
    expect(fake.requests).toHaveLength(1);
    // Cancelling a finished run changes nothing.
    expect((await a.runs.cancel(first)).state).toBe('completed');
  });

  test('refuses illegal transitions in the database itself', async ({ db, fake, a }) => {
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'trigger' });
    fake.enqueue({ text: 'done' });
    const { run } = await a.agent('chat').run(sessionId, 'hi');
    await expect(
      db.query(`update agentpg_runs set state = 'running', finalized_at = null where id = $1`, [run.id]),
    ).rejects.toThrow(/illegal run state transition completed -> running/);
    await expect(db.query(`update agentpg_runs set state = 'failed' where id = $1`, [run.id])).rejects.toThrow(
      /illegal/,
    );
  });
});

describe('idempotency', () => {
  test('returns the same run for the same key, with one job, even when sent concurrently', async ({
    db,
    fake,
    a,
    b,
  }) => {
    fake.reset();
    const sessionId = await a.agent('chat').newSession({ tenantId: 't', identifier: 'idem' });
    const [r1, r2] = await Promise.all([
      a.agent('chat').enqueue(sessionId, 'charge the card', { idempotencyKey: 'k1' }),
      b.agent('chat').enqueue(sessionId, 'charge the card', { idempotencyKey: 'k1' }),
    ]);
    const r3 = await a.agent('chat').enqueue(sessionId, 'charge the card', { idempotencyKey: 'k1' });
    expect(r2).toBe(r1);
    expect(r3).toBe(r1);
    await a.runs.wait(r1);
    const runs = await db.query(`select id from agentpg_runs where session_id = $1`, [sessionId]);
    expect(runs).toHaveLength(1);
    const jobs = await db.query(`select job_id from test_run_jobs where singleton_key = $1`, [sessionId]);
    expect(jobs).toHaveLength(1);
    const messages = await db.query(`select id from agentpg_messages where session_id = $1 and role = 'user'`, [
      sessionId,
    ]);
    expect(messages).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
    // Another key is another run.
    const r4 = await a.agent('chat').enqueue(sessionId, 'charge the card', { idempotencyKey: 'k2' });
    expect(r4).not.toBe(r1);
    await a.runs.wait(r4);
  });
});
