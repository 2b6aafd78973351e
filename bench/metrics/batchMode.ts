/**
 * batch_mode: Messages API requests per run when runs go through the Message Batches API. RUNS
 * single-turn runs of a `batch: true` agent are enqueued at once against an in-process fake API
 * (batches end 2 s after creation) with the cluster's poll pass every second; the fake counts every
 * request it gets: POST /v1/messages (none expected), and per batch endpoint (create, retrieve,
 * list, results). `requests_per_run` = all of them / RUNS: the poll pass gathers the pending calls
 * of every waiting run into one batch, so it falls with the number of runs in flight. Beside it,
 * the same runs without batch mode in the same process make one POST /v1/messages each
 * (`baseline_requests_per_run`). Counts only, no timing.
 */
import { AgentPG, defineAgent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { round } from '../lib/stats.js';

export interface BatchModeValue {
  runs: number;
  api_requests: number;
  requests_per_run: number | null;
  baseline_requests_per_run: number | null;
  /** Batches the runs went into. */
  batches: number;
  mode: 'full' | 'quick';
}

export async function measureBatchMode(ctx: BenchContext, db: BenchDatabase): Promise<MetricResult<BatchModeValue>> {
  const runs = ctx.quick ? 200 : 1000;
  const fake = await startFakeAnthropic({ record: false, batchProcessingDelayMs: 2000 });
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'bench-key', baseURL: fake.url },
    agents: [defineAgent({ name: 'nightly', model: 'claude-haiku-4-5', batch: true })],
    batch: { pollIntervalMs: 1000 },
    migrate: false,
    logger: createLogger({ level: 'warn' }),
  });
  await client.start();
  try {
    ctx.log(`batch_mode: ${runs} runs in batch mode${ctx.quick ? ' (quick: 1,000 in a full run)' : ''}`);
    const agent = client.agent('nightly');
    const enqueueAll = async (batch: boolean) => {
      const ids: string[] = [];
      for (let i = 0; i < runs; i += 50) {
        const chunk = await Promise.all(
          Array.from({ length: Math.min(50, runs - i) }, async (_, j) => {
            const s = await agent.newSession({ tenantId: 'bench', identifier: `b-${batch}-${i + j}` });
            return agent.enqueue(s, `summarize day ${i + j}`, { batch });
          }),
        );
        ids.push(...chunk);
      }
      return ids;
    };
    const waitAll = async (ids: string[]) => {
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const rows = await db.query<{ n: string }>(
          `select count(*) as n from agentpg_runs where id = any($1::uuid[]) and state in ('completed', 'failed', 'cancelled')`,
          [ids],
        );
        if (Number(rows[0].n) === ids.length) return;
        if (Date.now() > deadline) throw new Error(`batch_mode: ${rows[0].n}/${ids.length} runs ended in 10 min`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await waitAll(await enqueueAll(true));
    const batchRequests = fake.batches.totalRequests;
    const directInBatchPhase = fake.stats.received;
    const batches = fake.batches.batches.length;
    const failed = await db.query<{ n: string }>(`select count(*) as n from agentpg_runs where state <> 'completed'`);
    const before = fake.stats.received;
    await waitAll(await enqueueAll(false));
    const baselineRequests = fake.stats.received - before;
    const apiRequests = batchRequests + directInBatchPhase;
    return {
      value: {
        runs,
        api_requests: apiRequests,
        requests_per_run: round(apiRequests / runs, 4),
        baseline_requests_per_run: round(baselineRequests / runs, 4),
        batches,
        mode: ctx.quick ? 'quick' : 'full',
      },
      details: { batch_endpoints: { ...fake.batches.stats }, direct_messages_in_batch_phase: directInBatchPhase },
      notes: [
        ...(ctx.quick ? [`quick mode: ${runs} runs (1,000 in a full run)`] : []),
        ...(Number(failed[0].n) > 0 ? [`${failed[0].n} batch-mode runs did not complete`] : []),
      ],
    };
  } finally {
    await client.stop().catch(() => {});
    await fake.close().catch(() => {});
  }
}
