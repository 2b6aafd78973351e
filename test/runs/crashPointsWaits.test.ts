/**
 * Crashes around a run's waits, the companions of the crash-point matrix (crashPoints.test.ts),
 * on the same child process (test/fixtures/runs-crashpoints-child.ts) and harness: a run resumed
 * with a cancel pending, a charge that needs approval (crash before and at the suspension), an
 * email that asks the user (crash at input_requested), and a crash inside the enqueue transaction.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CHARGE_ID, EMAIL_ID, FINAL_TEXT, TURN1_USAGE } from '../fixtures/runs-crashpoints-defs.js';
import { untilValue } from '../helpers/until.js';
import {
  JOBS,
  assertValidForApi,
  calls,
  crashChild,
  effects,
  effectsBy,
  jobOf,
  messages,
  runRow,
  untilAwaitingInput,
  withCrashEnv,
} from './crashHarness.js';

describe.concurrent('a crash around a wait of a run, or inside its enqueue', () => {
  it(
    'a run resumed mid-turn with a cancel pending ends cancelled, every tool_use answered, no tool executed',
    () =>
      withCrashEnv(async (env) => {
        const { db, fake } = env;
        const { runId } = await crashChild(env, 'tool_turn_stored');
        // Cancelled while its instance was dead (no one to notify): the next claim sees it.
        await db.query(`update agentpg_runs set cancel_requested_at = now() where id = $1`, [runId]);
        const survivor = await env.startSurvivor();
        const run = await survivor.runs.wait(runId, { timeoutMs: 90_000 });
        expect(run).toMatchObject({
          state: 'cancelled',
          attempts: 2,
          inputTokens: TURN1_USAGE.input_tokens,
          outputTokens: TURN1_USAGE.output_tokens,
        });
        const stored = await messages(db, runId);
        expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
        assertValidForApi(stored);
        expect(stored[2].content.map((b: any) => [b.tool_use_id, b.is_error])).toEqual([
          [CHARGE_ID, true],
          [EMAIL_ID, true],
        ]);
        expect((await calls(db, runId)).map((c) => c.state)).toEqual(['failed', 'failed']);
        expect(await effects(db)).toEqual([]);
        expect(fake.requests).toHaveLength(1);
        expect(await jobOf(db, runId)).toBeUndefined(); // deleted with the run's final transaction
      }),
    240_000,
  );

  for (const at of ['tool_turn_stored', 'awaiting_input']) {
    it(
      `a charge that needs approval, crash at ${at}: the run waits holding no job slot, a decision resumes it elsewhere, the charge runs once`,
      () =>
        withCrashEnv(async (env) => {
          const { db } = env;
          const { runId } = await crashChild(env, at, { CHARGE_NEEDS_APPROVAL: '1' });
          expect(await calls(db, runId)).toEqual([
            { tool_use_id: CHARGE_ID, state: 'pending', attempts: 0 },
            { tool_use_id: EMAIL_ID, state: 'pending', attempts: 0 },
          ]);
          if (at === 'awaiting_input') {
            expect(await runRow(db, runId)).toMatchObject({ state: 'awaiting_input', attempts: 1 });
            expect(await jobOf(db, runId)).toBe('retry'); // set aside: holds the session, no worker
          }
          const survivor = await env.startSurvivor();
          // Crashed before suspending: the survivor claims the run and suspends it itself.
          await untilAwaitingInput(db, runId);
          expect(await effects(db)).toEqual([]);
          // The decision, recorded with plain SQL: it re-queues the run in the same statement.
          await db.query(`select agentpg_decide_tool_call($1, $2, 'approve', 'ops')`, [runId, CHARGE_ID]);
          const run = await survivor.runs.wait(runId, { timeoutMs: 90_000 });
          expect(run).toMatchObject({ state: 'completed', responseText: FINAL_TEXT, toolIterations: 1 });
          expect(await effectsBy(db)).toEqual([
            ['charge', 1, 'survivor'],
            ['email', 1, 'survivor'],
          ]);
          const stored = await messages(db, runId);
          assertValidForApi(stored);
          expect(await jobOf(db, runId)).toBeUndefined();
        }),
      240_000,
    );
  }

  it(
    'an email that asks the user, crash at input_requested: the survivor suspends the run, the answer is the result, no tool runs again',
    () =>
      withCrashEnv(async (env) => {
        const { db } = env;
        const { runId } = await crashChild(env, `input_requested:${EMAIL_ID}`, { EMAIL_ASKS: '1' });
        // Durable at the kill: charge's result, email's question; the run not suspended yet.
        expect(await calls(db, runId)).toEqual([
          { tool_use_id: CHARGE_ID, state: 'succeeded', attempts: 1 },
          { tool_use_id: EMAIL_ID, state: 'awaiting_input', attempts: 1 },
        ]);
        expect(await runRow(db, runId)).toMatchObject({ state: 'running', attempts: 1 });
        const survivor = await env.startSurvivor();
        await untilAwaitingInput(db, runId);
        await db.query(`select agentpg_answer_input($1, $2, 'yes, a@example.com', 'ops')`, [runId, EMAIL_ID]);
        const run = await survivor.runs.wait(runId, { timeoutMs: 90_000 });
        expect(run).toMatchObject({ state: 'completed', responseText: FINAL_TEXT, toolIterations: 1 });
        // Each side effect once, by the child: neither tool ran again on the survivor.
        expect(await effectsBy(db)).toEqual([
          ['charge', 1, 'child'],
          ['email', 1, 'child'],
        ]);
        const stored = await messages(db, runId);
        assertValidForApi(stored);
        const results = stored.at(-2)!.content.filter((b: any) => b.type === 'tool_result');
        expect(results.find((b: any) => b.tool_use_id === EMAIL_ID)).toMatchObject({ content: 'yes, a@example.com' });
        expect(await jobOf(db, runId)).toBeUndefined();
      }),
    240_000,
  );

  // A batch transaction (two calls at once) waits for the client's COMMIT, which never comes: the
  // server rolls it back. A lone call is one autocommit statement: the server finishes it and
  // commits run and job together, though its caller is gone (as a COMMIT sent just before a crash).
  for (const path of ['batch', 'lone'] as const)
    it(
      path === 'batch'
        ? 'a crash inside the enqueue transaction leaves nothing: no run, no job'
        : 'a crash inside a lone enqueue statement leaves its run and job together',
      () =>
        withCrashEnv(async ({ db, startChild }) => {
          const child = startChild('child-enqueue', 'enqueue_held', path === 'batch' ? { ENQUEUE_PAIR: '1' } : {});
          await child.line(/^READY$/);
          // Hold pg-boss's job table: the enqueue inserts its run row(s), then waits to insert the
          // job(s), uncommitted, while the process is killed.
          const locker = new pg.Client({ connectionString: db.url });
          await locker.connect();
          try {
            await locker.query('begin');
            await locker.query(`lock table ${JOBS} in share mode`);
            child.proc.stdin!.write('go\n');
            const pid = await untilValue(
              async () =>
                (
                  await db.query(
                    `select a.pid from pg_stat_activity a
                  where a.application_name = 'agentpg:child-enqueue' and a.wait_event_type = 'Lock'
                    and exists (select 1 from pg_locks l join pg_class c on c.oid = l.relation
                                 where l.pid = a.pid and l.granted and c.relname = 'agentpg_runs' and l.mode = 'RowExclusiveLock')`,
                  )
                )[0]?.pid as number | undefined,
              (p) => p !== undefined,
            );
            expect(await db.query(`select id from agentpg_runs`)).toEqual([]); // written, not committed
            child.proc.kill('SIGKILL');
            expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
            await locker.query('rollback');
            // The orphaned backend finishes its statement; a batch's then finds its client gone and rolls
            // back, a lone one's commits.
            await untilValue(
              async () => (await db.query(`select 1 from pg_stat_activity where pid = $1`, [pid])).length,
              (n) => n === 0,
            );
          } finally {
            await locker.end().catch(() => {});
          }
          const runs = await db.query(`select id, job_id from agentpg_runs`);
          const jobs = await db.query(`select id, data->>'runId' as run_id from ${JOBS} where name = 'agentpg_runs'`);
          if (path === 'batch') {
            expect(runs).toEqual([]);
            expect(jobs).toEqual([]);
          } else {
            expect(runs).toHaveLength(1);
            expect(jobs).toEqual([{ id: runs[0].job_id, run_id: runs[0].id }]);
          }
          expect(await db.query(`select id from agentpg_messages`)).toEqual([]);
          expect(child.lines.some((l) => l.startsWith('CRASH') || l.startsWith('NO_CRASH'))).toBe(false);
        }),
      240_000,
    );
});
