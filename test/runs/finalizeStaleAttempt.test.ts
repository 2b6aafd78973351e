/**
 * Group commit of run ends (src/runs/finalizer.ts) with a stale execution in the batch: a worker
 * that lost its claim (its liveness session, a lapsed job heartbeat) and then claimed the same run
 * again can have the old execution's finalize queued next to the new one's, in one transaction.
 * Only the request whose attempt matched may write: the stale one stores nothing and learns its
 * claim is gone. (Found by the chaos suite: a run with two final assistant messages and one
 * terminal transition.)
 */
import { describe, expect } from 'vitest';
import { defineAgent } from '../../src/index.js';
import { RunFinalizer, type FinalizeRequest } from '../../src/runs/finalizer.js';
import type { Runtime } from '../../src/runtime.js';
import { test } from '../helpers/fixtures.js';
import { untilValue } from '../helpers/until.js';
import { MODEL } from './helpers.js';

const ZERO = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

describe('a stale execution in a finalize batch', () => {
  test('only the current attempt writes; the stale request resolves null', async ({ db, fake, startClient }) => {
    // The runs stay `running` (their model calls hang): this test finalizes them itself.
    fake.setResponder(() => ({ text: 'late', latencyMs: 60_000 }));
    const client = await startClient({ agents: [defineAgent({ name: 'chat', model: MODEL, maxTokens: 64 })] });
    const agent = client.agent('chat');
    const ids: string[] = [];
    for (const name of ['pacer', 'x']) {
      const sessionId = await agent.newSession({ tenantId: 't', identifier: `stale-${name}` });
      ids.push(await agent.enqueue(sessionId, name));
    }
    const rows = await untilValue(
      () =>
        db.query(
          `select id, session_id, attempts from agentpg_runs where id = any($1) and state = 'running' order by prompt`,
          [ids],
        ),
      (r) => r.length === 2,
    );
    const [pacer, x] = [rows.find((r) => r.id === ids[0]), rows.find((r) => r.id === ids[1])];
    const rt = (client as unknown as { runtime: Runtime }).runtime;
    const finalizer = new RunFinalizer(rt);
    const request = (run: { id: string; session_id: string }, attempt: number, text: string): FinalizeRequest => ({
      runId: run.id,
      sessionId: run.session_id,
      attempt,
      state: 'completed',
      usage: ZERO,
      responseText: text,
      stopReason: 'end_turn',
      streamPayloads: [],
      // No such job: its delete settles nothing (logged as a lapsed job), the run is still final.
      job: { id: '00000000-0000-4000-8000-000000000000', retryCount: 0 },
      messages: [{ role: 'assistant', content: [{ type: 'text', text }], stopReason: 'end_turn', usage: ZERO }],
      closeToolCallsWith: null,
    });
    // The pacer's finalize transaction blocks on the test's row lock; the two requests for x queue
    // behind it and share the next transaction.
    const locker = await db.pool.connect();
    await locker.query('begin');
    await locker.query('select 1 from agentpg_runs where id = $1 for update', [pacer.id]);
    const paced = finalizer.finalize(request(pacer, pacer.attempts, 'pacer'));
    await untilValue(
      () => db.query(`select count(*)::int as n from pg_locks where not granted and locktype = 'transactionid'`),
      (r) => r[0].n > 0,
    );
    const stale = finalizer.finalize(request(x, x.attempts - 1, 'stale answer'));
    const current = finalizer.finalize(request(x, x.attempts, 'current answer'));
    await locker.query('commit');
    locker.release();
    expect((await paced)?.state).toBe('completed');
    expect(await stale).toBeNull();
    expect((await current)?.responseText).toBe('current answer');
    const finals = await db.query(
      `select content->0->>'text' as text from agentpg_messages where run_id = $1 and stop_reason = 'end_turn'`,
      [x.id],
    );
    expect(finals).toEqual([{ text: 'current answer' }]);
  });
});
