import { BATCH_POLL_QUEUE } from '../../src/batch/service.js';
import type { TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/until.js';

/**
 * Waits for the batch poller's pass offered at the client's start to complete. Tests that run their
 * passes themselves (a poll interval of an hour) let it finish first: run later (a loaded machine
 * fetches it late), it would send some of a test's requests in a batch of its own, and the test
 * could no longer say what each pass did.
 */
export async function untilStartPassDone(db: TestDatabase): Promise<void> {
  await until(async () => {
    const rows = await db.query(
      `select count(*)::int as n from agentpg_boss.job where name = $1 and state = 'completed'`,
      [BATCH_POLL_QUEUE],
    );
    return rows[0].n >= 1;
  }, 60_000);
}
