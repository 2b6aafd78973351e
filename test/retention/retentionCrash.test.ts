/**
 * Retention survives SIGKILL mid-pass: a child process (test/fixtures/retention-crash-child.ts)
 * runs an archive pass and is killed inside its third batch's transaction, after that batch's
 * deletes and moves, before its COMMIT. Then: the two committed batches' sessions are archived
 * whole, every other session is live whole (none half-moved, none both live and archived), the
 * killed pass's row counts exactly what its committed batches did; a second pass finishes the job,
 * and the sessions the policy never names (a run in flight, a hold, a recent run) are untouched.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { runRetentionPass } from '../../src/retention/pass.js';
import { resolveRetention } from '../../src/retention/settings.js';
import { test, type TestDatabase } from '../helpers/fixtures.js';
import { days, rowsOf, runsMissingRows, seedSession, seedSessions } from './seed.js';

const childScript = fileURLToPath(new URL('../fixtures/retention-crash-child.ts', import.meta.url));
const RETIRABLE = 20;
const BATCH = 4;

/** Live and archived rows of one session. */
async function stateOf(db: TestDatabase, id: string) {
  const live = await rowsOf(db.pool, [id]);
  const [archived] = await db.query(
    `select (select count(*)::int from agentpg_archive_sessions where id = $1) as sessions,
            (select count(*)::int from agentpg_archive_runs where session_id = $1) as runs,
            (select count(*)::int from agentpg_archive_messages where session_id = $1) as messages,
            (select count(*)::int from agentpg_archive_tool_calls where session_id = $1) as tool_calls,
            (select count(*)::int from agentpg_archive_compactions where session_id = $1) as compactions`,
    [id],
  );
  return { live, archived };
}

describe('retention crash', () => {
  test('SIGKILL inside a batch: nothing half-retired, the next pass finishes', async ({ db }) => {
    const whole = { sessions: 1, runs: 3, messages: 6, tool_calls: 3, compactions: 1 };
    const none = { sessions: 0, runs: 0, messages: 0, tool_calls: 0, compactions: 0 };
    const retirable = await seedSessions(db.pool, RETIRABLE, {
      tenantId: 'a',
      compacted: true,
      runs: [
        { state: 'completed', ageMs: days(5) },
        { state: 'failed', ageMs: days(4) },
        { state: 'completed', ageMs: days(3) },
      ],
    });
    const inFlight = await seedSession(db.pool, {
      tenantId: 'a',
      runs: [
        { state: 'completed', ageMs: days(5) },
        { state: 'running', ageMs: days(3) },
      ],
    });
    const held = await seedSession(db.pool, { tenantId: 'a', runs: [{ state: 'completed', ageMs: days(5) }] });
    await db.query(`insert into agentpg_session_holds (session_id) values ($1)`, [held]);
    const recent = await seedSession(db.pool, {
      tenantId: 'a',
      runs: [
        { state: 'completed', ageMs: days(5) },
        { state: 'completed', ageMs: 60_000 },
      ],
    });
    const keepers = [inFlight, held, recent];
    const keepersBefore = await rowsOf(db.pool, keepers);

    const proc = spawn(process.execPath, ['--import', 'tsx', childScript], {
      env: { ...process.env, DATABASE_URL: db.url, BATCH_SIZE: String(BATCH), CRASH_AT_BATCH: '3' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (l) => {
        if (/^(IN_BATCH|NO_CRASH)/.test(l)) resolve(l);
      });
      proc.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const [, batch, passId] = /^IN_BATCH (\d+) (\d+)$/.exec(line)!;
    expect(batch).toBe('3');
    proc.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });

    // Each retirable session is archived whole or live whole, never both, never part.
    const states = await Promise.all(retirable.map((id) => stateOf(db, id)));
    const archived = states.filter((s) => s.archived.sessions === 1);
    for (const s of states) {
      if (s.archived.sessions === 1) expect(s).toEqual({ live: none, archived: whole });
      else expect(s).toEqual({ live: whole, archived: none });
    }
    // The killed pass: two committed batches of BATCH sessions, counted exactly, never finished.
    expect(archived).toHaveLength(2 * BATCH);
    const [pass] = await db.query(`select * from agentpg_retention_passes where id = $1`, [Number(passId)]);
    expect(pass).toMatchObject({ batches: 2, sessions: 2 * BATCH, runs: 6 * BATCH, messages: 12 * BATCH });
    expect(pass.finished_at).toBeNull();
    expect(await runsMissingRows(db.pool)).toEqual([]);
    expect(await rowsOf(db.pool, keepers)).toEqual(keepersBefore);

    // The next pass (the killed backend's locks are gone with its connection) does the rest.
    const second = await runRetentionPass({
      pool: db.pool,
      instanceId: 'survivor',
      jobId: null,
      settings: resolveRetention({ finishedRunsMaxAgeMs: days(1), mode: 'archive', batchSize: BATCH })!,
    });
    expect(second).toMatchObject({ error: null, sessions: RETIRABLE - 2 * BATCH });
    expect(second.batchSizes.every((n) => n <= BATCH)).toBe(true);
    for (const id of retirable) expect(await stateOf(db, id)).toEqual({ live: none, archived: whole });
    expect(await rowsOf(db.pool, keepers)).toEqual(keepersBefore);
    expect(await runsMissingRows(db.pool)).toEqual([]);
  });
});
