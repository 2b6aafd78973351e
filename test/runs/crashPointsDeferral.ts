/**
 * [ratelimit] The `rate_limit_deferred` points of the crash-point matrix (crashPoints.test.ts): how
 * the child is made to defer a model call, and what is checked at the kill and after the resume.
 */
import { expect } from 'vitest';
import type { FakeAnthropic } from '../../src/testing/index.js';
import { CHILD_API_KEY } from '../fixtures/child.js';
import { EMAIL_ID } from '../fixtures/runs-crashpoints-defs.js';
import type { TestDatabase } from '../helpers/db.js';
import { JOBS, jobOf } from './crashHarness.js';

/**
 * [ratelimit] Right after `blockAt` the child's model is blocked for BLOCK_MS, as a 429's
 * retry-after seen by another instance blocks it for the whole cluster; the child waits for no
 * capacity in place (maxWaitInPlaceMs 0), so its next model call is deferred (step
 * `rate_limit_deferred`: the run's job back in `retry`, due when the block ends) and the child dies
 * right after that commit. The survivor uses the same API key (the same bucket) and resumes the run
 * when its job comes due: the deferred call is made once, after the block, and the run is not
 * deferred again.
 */
const BLOCK_MS = 3000;
const blockedUntil = async (db: TestDatabase): Promise<Date> =>
  (await db.query(`select blocked_until from agentpg_rate_limits where model = 'claude-fake-model'`))[0].blocked_until;
const deferrals = async (db: TestDatabase, runId: string): Promise<number> =>
  (await db.query(`select rate_limit_deferrals from agentpg_runs where id = $1`, [runId]))[0].rate_limit_deferrals;

function deferredAfter(blockAt: string, deferredCall: number) {
  return {
    childEnv: { RATE_LIMIT_BLOCK_AT: blockAt, RATE_LIMIT_BLOCK_MS: String(BLOCK_MS) },
    survivorConfig: (fake: FakeAnthropic) => ({ anthropic: { apiKey: CHILD_API_KEY, baseURL: fake.url } }),
    /** At the kill: handed back, due no earlier than the block's end; the deferred call not made. */
    async deferredAtCrash(db: TestDatabase, runId: string, fake: FakeAnthropic) {
      expect(await deferrals(db, runId)).toBe(1);
      expect(await jobOf(db, runId)).toBe('retry');
      const [job] = await db.query(
        `select j.start_after from ${JOBS} j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
        [runId],
      );
      expect(job.start_after.getTime()).toBeGreaterThanOrEqual((await blockedUntil(db)).getTime());
      expect(fake.requests).toHaveLength(deferredCall);
    },
    async afterResume(db: TestDatabase, runId: string, fake: FakeAnthropic) {
      // Made once, not before the block ended (the survivor's own acquire honours it too).
      expect(fake.requests[deferredCall].receivedAt.getTime()).toBeGreaterThanOrEqual(
        (await blockedUntil(db)).getTime(),
      );
      expect(await deferrals(db, runId)).toBe(1);
    },
  };
}
export const DEFER_FIRST = deferredAfter('claimed', 0);
export const DEFER_SECOND = deferredAfter(`tool_result_stored:${EMAIL_ID}`, 1);
