import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcess } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * `agentpg batches`: batch mode's open requests by state and its submissions, read from the batch
 * tables as the poll pass leaves them (rows written here with plain SQL in each state).
 */
describe('agentpg batches', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    const [s] = await db.query(
      `insert into agentpg_sessions (tenant_id, identifier, agent_name) values ('t', 'u', 'nightly') returning id`,
    );
    const runs = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, state, started_at, batch_mode)
       select $1, 'nightly', 't', 'p' || g, 'awaiting_input', now(), true from generate_series(1, 5) g
       returning id`,
      [s.id],
    );
    await db.query(
      `insert into agentpg_batch_submissions (id, batch_id, state, request_count, created_at, submitted_at, ended_at, last_polled_at) values
         ('00000000-0000-4000-8000-000000000001', 'msgbatch_old', 'ended', 1, now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour'),
         ('00000000-0000-4000-8000-000000000002', 'msgbatch_open', 'in_progress', 2, now() - interval '10 minutes', now() - interval '10 minutes', null, now() - interval '5 seconds'),
         ('00000000-0000-4000-8000-000000000003', null, 'creating', 1, now() - interval '1 minute', null, null, null)`,
    );
    const request = (i: number, state: string, submission: string | null, ageMin: number) =>
      db.query(
        `insert into agentpg_batch_requests (run_id, turn, custom_id, model, params, state, submission_id, created_at)
         values ($1, 0, $2, 'claude-x', '{}', $3, $4, now() - make_interval(mins => $5))`,
        [runs[i].id, `req_${i}`, state, submission, ageMin],
      );
    await request(0, 'succeeded', '00000000-0000-4000-8000-000000000001', 120);
    await request(1, 'submitted', '00000000-0000-4000-8000-000000000002', 11);
    await request(2, 'submitted', '00000000-0000-4000-8000-000000000002', 12);
    await request(3, 'submitting', '00000000-0000-4000-8000-000000000003', 2);
    await request(4, 'pending', null, 3);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('--json: open requests by state (the oldest of each), open submissions first, then the last ended', async () => {
    const res = await cliProcess(db.url, 'batches', '--json');
    expect(res.code).toBe(0);
    const data = JSON.parse(res.stdout);
    expect(data.openRequests.map((r: any) => [r.state, r.requests])).toEqual([
      ['pending', 1],
      ['submitted', 2],
      ['submitting', 1],
    ]);
    const submitted = data.openRequests.find((r: any) => r.state === 'submitted');
    const age = (Date.now() - new Date(submitted.oldest).getTime()) / 60_000;
    expect(age).toBeGreaterThan(11.5); // the older of the two (12 min), not the newer
    expect(data.submissions.map((s: any) => [s.batch_id, s.state, s.requests])).toEqual([
      ['msgbatch_open', 'in_progress', 2],
      [null, 'creating', 1],
      ['msgbatch_old', 'ended', 1],
    ]);
    const limited = JSON.parse((await cliProcess(db.url, 'batches', '--limit', '0', '--json')).stdout);
    expect(limited.submissions.map((s: any) => s.state)).toEqual(['in_progress', 'creating']);
  });

  it('prints tables for people, and refuses a bad limit', async () => {
    const res = await cliProcess(db.url, 'batches');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Requests waiting for a batch result\nstate\s+requests\s+oldest\s+oldest_age_s/m);
    expect(res.stdout).toMatch(/^pending\s+1\s/m);
    expect(res.stdout).toMatch(/msgbatch_open\s+in_progress\s+2\s/);
    expect((await cliProcess(db.url, 'batches', '--limit', 'x')).code).toBe(2);
  });
});
