/**
 * Retention (src/retention) on real PostgreSQL: a pass retires exactly the sessions its policy
 * names (every run finished longer ago than the tenant's age, no hold on the session or above it),
 * never one with a run in flight, in batches of at most batchSize sessions, each batch's size read
 * from its delete statements' row counts; archive mode moves rows instead; export and holds.
 */
import { describe, expect } from 'vitest';
import { runRetentionPass } from '../../src/retention/pass.js';
import { resolveRetention, type RetentionConfig } from '../../src/retention/settings.js';
import { test, type TestDatabase } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';
import { days, rowsOf, runsMissingRows, seedSession, totals } from './seed.js';

const pass = (db: TestDatabase, config: RetentionConfig) =>
  runRetentionPass({ pool: db.pool, instanceId: 'test', jobId: null, settings: resolveRetention(config)! });

const old = (n = 1, ageDays = 3) =>
  Array.from({ length: n }, () => ({ state: 'completed' as const, ageMs: days(ageDays) }));

async function clear(db: TestDatabase) {
  await db.query(`delete from agentpg_sessions`);
  await db.query(`delete from agentpg_retention_passes`);
  for (const t of ['sessions', 'runs', 'messages', 'tool_calls', 'compactions'])
    await db.query(`delete from agentpg_archive_${t}`);
}

describe('retention pass', () => {
  test('retires exactly the sessions the policy names', async ({ db }) => {
    await clear(db);
    const q = db.pool;
    // Retired: tenant a (1 day) finished 3 days ago, with every run state that is terminal, a
    // compaction, and a child session (agents as tools) equally old.
    const oldA = await seedSession(q, {
      tenantId: 'a',
      compacted: true,
      runs: [
        { state: 'completed', ageMs: days(5) },
        { state: 'failed', ageMs: days(4) },
        { state: 'cancelled', ageMs: days(3) },
      ],
    });
    const childOfOld = await seedSession(q, { tenantId: 'a', parentSessionId: oldA, runs: old(2) });
    const oldB = await seedSession(q, { tenantId: 'b', runs: old(2, 10) });
    const retired = [oldA, childOfOld, oldB];
    // Kept: a recent run among old ones; a run in flight (each non-terminal state) among old
    // finished ones; a hold, on the session or on its parent; tenant b's age is 7 days; tenant c
    // is kept forever; a session without runs (the policy names finished runs).
    const kept = [
      await seedSession(q, { tenantId: 'a', runs: [...old(2), { state: 'completed', ageMs: 60 * 60_000 }] }),
      await seedSession(q, { tenantId: 'a', runs: [...old(2), { state: 'queued', ageMs: days(3) }] }),
      await seedSession(q, { tenantId: 'a', runs: [...old(2), { state: 'running', ageMs: days(3) }] }),
      await seedSession(q, { tenantId: 'a', runs: [...old(2), { state: 'awaiting_input', ageMs: days(3) }] }),
      await seedSession(q, { tenantId: 'b', runs: old(2, 3) }),
      await seedSession(q, { tenantId: 'c', runs: old(2, 100) }),
      await seedSession(q, { tenantId: 'a', runs: [] }),
    ];
    const held = await seedSession(q, { tenantId: 'a', runs: old(2) });
    const heldChild = await seedSession(q, { tenantId: 'a', parentSessionId: held, runs: old(2) });
    const heldGrandchild = await seedSession(q, { tenantId: 'a', parentSessionId: heldChild, runs: old(1) });
    await db.query(`insert into agentpg_session_holds (session_id, reason) values ($1, 'litigation')`, [held]);
    kept.push(held, heldChild, heldGrandchild);

    const keptBefore = await rowsOf(q, kept);
    const retiredBefore = await rowsOf(q, retired);
    expect(retiredBefore).toEqual({ sessions: 3, runs: 7, messages: 14, tool_calls: 7, compactions: 1 });

    const summary = await pass(db, { finishedRunsMaxAgeMs: days(1), perTenant: { b: days(7), c: null } });
    expect(summary.error).toBeNull();
    expect(await rowsOf(q, retired)).toEqual({ sessions: 0, runs: 0, messages: 0, tool_calls: 0, compactions: 0 });
    expect(await rowsOf(q, kept)).toEqual(keptBefore);
    expect(await runsMissingRows(q)).toEqual([]);
    // The summary's counts are the delete statements' row counts.
    expect(summary).toMatchObject({ sessions: 3, runs: 7, messages: 14, toolCalls: 7, compactions: 1 });
    const [row] = await db.query(`select * from agentpg_retention_passes where id = $1`, [summary.passId]);
    expect(row).toMatchObject({ sessions: 3, runs: 7, messages: 14, tool_calls: 7, compactions: 1, error: null });
    expect(row.finished_at).not.toBeNull();

    // A second pass finds nothing more; lifting the hold lets the next one retire the held tree.
    expect(await pass(db, { finishedRunsMaxAgeMs: days(1), perTenant: { b: days(7), c: null } })).toMatchObject({
      sessions: 0,
      batchSizes: [],
    });
    await db.query(`delete from agentpg_session_holds where session_id = $1`, [held]);
    const after = await pass(db, { finishedRunsMaxAgeMs: days(1), perTenant: { b: days(7), c: null } });
    expect(after.sessions).toBe(3);
    expect(await rowsOf(q, [held, heldChild, heldGrandchild])).toMatchObject({ sessions: 0, runs: 0, messages: 0 });
  });

  test('perTenant alone: other tenants are never touched', async ({ db }) => {
    await clear(db);
    const a = await seedSession(db.pool, { tenantId: 'a', runs: old(1, 50) });
    const b = await seedSession(db.pool, { tenantId: 'b', runs: old(1, 50) });
    const s = await pass(db, { perTenant: { b: days(1) } });
    expect(s.sessions).toBe(1);
    expect(await rowsOf(db.pool, [a])).toMatchObject({ sessions: 1, runs: 1, messages: 2 });
    expect(await rowsOf(db.pool, [b])).toMatchObject({ sessions: 0, runs: 0, messages: 0 });
  });

  test('in batches of batchSize sessions, sized by the delete statements', async ({ db }) => {
    await clear(db);
    for (let i = 0; i < 10; i++) await seedSession(db.pool, { tenantId: 'a', runs: old(1) });
    // Runs finalized in one transaction share finalized_at: the walk orders ties by id.
    await db.query(`update agentpg_runs set finalized_at = now() - interval '3 days'`);
    const s = await pass(db, { finishedRunsMaxAgeMs: days(1), batchSize: 3 });
    expect(s.batchSizes).toEqual([3, 3, 3, 1]);
    expect(s).toMatchObject({ sessions: 10, runs: 10, messages: 20, toolCalls: 10 });
    const [row] = await db.query(`select batches, sessions from agentpg_retention_passes where id = $1`, [s.passId]);
    expect(row).toEqual({ batches: 4, sessions: 10 });
    expect(await totals(db.pool)).toMatchObject({ sessions: 0, runs: 0, messages: 0, tool_calls: 0 });
  });

  test('archive mode moves every row, whole, into agentpg_archive_*', async ({ db }) => {
    await clear(db);
    const id = await seedSession(db.pool, { tenantId: 'a', compacted: true, runs: old(3) });
    const [session] = await db.query(`select to_jsonb(s) as j from agentpg_sessions s where id = $1`, [id]);
    const messages = await db.query(
      `select seq, to_jsonb(m) as j from agentpg_messages m where session_id = $1 order by seq`,
      [id],
    );
    const s = await pass(db, { finishedRunsMaxAgeMs: days(1), mode: 'archive' });
    expect(s).toMatchObject({ mode: 'archive', sessions: 1, runs: 3, messages: 6, toolCalls: 3, compactions: 1 });
    expect(await rowsOf(db.pool, [id])).toEqual({ sessions: 0, runs: 0, messages: 0, tool_calls: 0, compactions: 0 });
    const [a] = await db.query(`select tenant_id, data from agentpg_archive_sessions where id = $1`, [id]);
    expect(a).toEqual({ tenant_id: 'a', data: session.j });
    const archived = await db.query(
      `select seq, data from agentpg_archive_messages where session_id = $1 order by seq`,
      [id],
    );
    expect(archived.map((m) => m.data)).toEqual(messages.map((m) => m.j));
    const [counts] = await db.query(
      `select (select count(*)::int from agentpg_archive_runs where session_id = $1) as runs,
              (select count(*)::int from agentpg_archive_tool_calls where session_id = $1) as tool_calls,
              (select count(*)::int from agentpg_archive_compactions where session_id = $1) as compactions`,
      [id],
    );
    expect(counts).toEqual({ runs: 3, tool_calls: 3, compactions: 1 });
  });

  test('a session locked by an enqueue in progress is skipped, and kept once the run commits', async ({ db }) => {
    await clear(db);
    const id = await seedSession(db.pool, { tenantId: 'a', runs: old(1) });
    const other = await seedSession(db.pool, { tenantId: 'a', runs: old(1) });
    const enqueuer = await db.pool.connect();
    try {
      await enqueuer.query('begin');
      await enqueuer.query(
        `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'retained', 'a', 'again')`,
        [id],
      );
      // The insert's foreign key check holds KEY SHARE on the session: the batch skips it.
      const s = await pass(db, { finishedRunsMaxAgeMs: days(1) });
      expect(s.sessions).toBe(1);
      await enqueuer.query('commit');
    } finally {
      enqueuer.release();
    }
    expect(await rowsOf(db.pool, [other])).toMatchObject({ sessions: 0 });
    // Now it has a queued run: in flight, kept.
    expect((await pass(db, { finishedRunsMaxAgeMs: days(1) })).sessions).toBe(0);
    expect(await rowsOf(db.pool, [id])).toMatchObject({ sessions: 1, runs: 2, messages: 2 });
  });
});

describe('retention through the client', () => {
  test('passes run by themselves as pg-boss jobs; export and holds through client.sessions', async ({
    db,
    startClient,
  }) => {
    await clear(db);
    const exported = await seedSession(db.pool, { tenantId: 'a', compacted: true, runs: old(2) });
    const held = await seedSession(db.pool, { tenantId: 'a', runs: old(1) });
    // An instance without retention: holds and exports need no pass.
    const plain = await startClient();
    await expect(plain.sessions.hold(held, { reason: 'legal', heldBy: 'counsel' })).resolves.toMatchObject({
      sessionId: held,
      reason: 'legal',
      heldBy: 'counsel',
    });
    const doc = await plain.sessions.export(exported);
    expect(doc.format).toBe('agentpg.session.v1');
    expect(doc.session.id).toBe(exported);
    expect(doc.hold).toBeNull();
    expect(doc.runs).toHaveLength(2);
    expect(doc.messages).toHaveLength(4);
    expect(doc.toolCalls).toHaveLength(2);
    expect(doc.compactions).toHaveLength(1);
    expect((await plain.sessions.export(held)).hold).toMatchObject({ reason: 'legal', held_by: 'counsel' });
    await expect(plain.sessions.export('00000000-0000-0000-0000-000000000000')).rejects.toThrow(/session not found/);
    expect((await plain.health()).retentionPassesRun).toBe(0);

    const passes: number[] = [];
    const client = await startClient({
      retention: { finishedRunsMaxAgeMs: days(1), intervalMs: 1000 },
      onRetentionPass: (s) => void passes.push(s.sessions),
    });
    await until(async () => (await rowsOf(db.pool, [exported])).sessions === 0);
    const [row] = await db.query(`select job_id from agentpg_retention_passes order by id limit 1`);
    expect(row.job_id).not.toBeNull();
    await until(() => passes.length >= 2);
    expect(await rowsOf(db.pool, [held])).toMatchObject({ sessions: 1, runs: 1, messages: 2 });
    expect((await client.health()).retentionPassesRun).toBeGreaterThanOrEqual(2);
    await expect(client.sessions.export(exported)).rejects.toThrow(/session not found/);
    expect(await client.sessions.releaseHold(held)).toBe(true);
    expect(await client.sessions.releaseHold(held)).toBe(false);
    await until(async () => (await rowsOf(db.pool, [held])).sessions === 0);
  });
});
