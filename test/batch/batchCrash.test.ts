import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentPG } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { batchCrashAgents, batchCrashModel, FINAL_TEXT } from '../fixtures/batch-crash-defs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startClient } from '../runs/helpers.js';

const CHILD = fileURLToPath(new URL('../fixtures/batch-crash-child.ts', import.meta.url));

let db: TestDatabase | undefined;
let fake: FakeAnthropic | undefined;
let survivor: AgentPG | undefined;

afterEach(async () => {
  await survivor?.stop();
  await fake?.close();
  await db?.drop();
  survivor = fake = db = undefined;
});

/** Starts the child, returns its run id once printed and resolves `killed` when SIGKILL took it. */
async function crashChild(crashAt: string): Promise<{ runId: string; signal: string | null }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      DATABASE_URL: db!.url,
      FAKE_URL: fake!.url,
      INSTANCE_ID: 'batch-crash-child',
      CRASH_AT: crashAt,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  const [, signal] = (await once(proc, 'exit')) as [number | null, NodeJS.Signals | null];
  const run = lines.map((l) => /^RUN (\S+)$/.exec(l)).find(Boolean);
  expect(lines, 'the child reached the crash point').toContain(`CRASH ${crashAt}`);
  return { runId: run![1], signal };
}

/**
 * A batch-mode run survives a SIGKILL of its instance right after its request was stored (the run's
 * `batch_requested`), and of the instance running the poll pass at each point of a submission,
 * with exactly one batch created at the API, and the run's one request in it.
 */
describe('batch mode survives SIGKILL', () => {
  for (const crashAt of ['batch_requested', 'submission_recorded', 'batch_created', 'batch_recorded']) {
    it(`at ${crashAt}`, async () => {
      db = await createTestDatabase();
      fake = await startFakeAnthropic({ responder: batchCrashModel, batchProcessingDelayMs: 300 });
      const { runId, signal } = await crashChild(crashAt);
      expect(signal).toBe('SIGKILL');
      // At the kill: nothing sent yet, or exactly one batch (the pass died around its create).
      expect(fake.batches.stats.create).toBe(['batch_requested', 'submission_recorded'].includes(crashAt) ? 0 : 1);

      // The survivor's passes reconcile (the dead pass's lock is gone with its session).
      survivor = await startClient(db, fake, {
        agents: batchCrashAgents,
        batch: { pollIntervalMs: 1000, reconcileAfterMs: 0 },
      });
      const run = await survivor.runs.wait(runId, { timeoutMs: 40_000 });
      expect(run.state).toBe('completed');
      expect(run.responseText).toBe(FINAL_TEXT);

      expect(fake.batches.stats.create).toBe(1);
      expect(fake.batches.batches).toHaveLength(1);
      expect(fake.stats.received).toBe(0);
      const requests = await db.query(`select custom_id, state from agentpg_batch_requests where run_id = $1`, [runId]);
      expect(requests).toHaveLength(1);
      expect(requests[0].state).toBe('succeeded');
      expect(fake.batches.batches[0].customIds).toEqual([requests[0].custom_id]);
      const subs = await db.query(`select state, batch_id from agentpg_batch_submissions order by created_at`);
      // A submission killed before its create is proved never sent (abandoned) and sent again.
      expect(subs.map((s) => s.state)).toEqual(crashAt === 'submission_recorded' ? ['abandoned', 'ended'] : ['ended']);
      expect(subs.at(-1)!.batch_id).toBe(fake.batches.batches[0].id);
      // Booting the child (tsx) takes most of it on a loaded machine.
    }, 120_000);
  }
});
