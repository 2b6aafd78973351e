/**
 * enqueue_in_tx_ms: the latency of enqueueing a run inside the caller's own transaction
 * (`BEGIN; agent.enqueue(..., { db }); COMMIT` on a connection of the caller's), beside a plain
 * `agent.enqueue()` (its own transaction, group commit with nothing else in flight) measured the
 * same way in the same run, alternating one of each so both see the same load. Timed in the
 * harness process around the whole call, COMMIT included for the transactional side: what a caller
 * pays to get a run durable. Each sample uses a new session (created before, not timed). The runs
 * execute on the same client against the fake model, one at a time per session.
 *
 * "Long enough": each side has at least MIN_SAMPLES samples after the warm-up, or no ratio.
 */
import pg from 'pg';
import { AgentPG, defineAgent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { round, summarize } from '../lib/stats.js';

const MIN_SAMPLES = 100;

export interface EnqueueInTxValue {
  p50: number | null;
  plain_p50: number | null;
  ratio: number | null;
  samples: number;
}

export async function measureEnqueueInTx(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<EnqueueInTxValue>> {
  const warmup = 20;
  const samples = ctx.quick ? 150 : 400;
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'bench-key', baseURL: ctx.modelUrl },
    agents: [defineAgent({ name: 'bench', model: 'claude-sonnet-4-6', maxTokens: 64 })],
    migrate: false,
    logger: createLogger({ level: 'warn' }),
  });
  await client.start();
  const caller = new pg.Client({ connectionString: db.url, application_name: 'agentpg-bench-caller' });
  await caller.connect();
  const agent = client.agent('bench');
  const inTx: number[] = [];
  const plain: number[] = [];
  try {
    ctx.log(`enqueue_in_tx: ${samples} transactional and ${samples} plain enqueues, alternating`);
    for (let i = 0; i < samples + warmup; i++) {
      const [s1, s2] = await Promise.all([
        agent.newSession({ tenantId: 'bench', identifier: `tx-${i}` }),
        agent.newSession({ tenantId: 'bench', identifier: `plain-${i}` }),
      ]);
      let t0 = performance.now();
      await caller.query('BEGIN');
      await agent.enqueue(s1, 'Say ok.', { db: caller });
      await caller.query('COMMIT');
      const tx = performance.now() - t0;
      t0 = performance.now();
      await agent.enqueue(s2, 'Say ok.');
      const p = performance.now() - t0;
      if (i >= warmup) {
        inTx.push(tx);
        plain.push(p);
      }
    }
  } finally {
    await caller.end().catch(() => {});
    await client.stop().catch(() => {});
  }
  const a = summarize(inTx);
  const b = summarize(plain);
  const enough = inTx.length >= MIN_SAMPLES && plain.length >= MIN_SAMPLES;
  return {
    value: {
      p50: round(a.p50),
      plain_p50: round(b.p50),
      ratio: enough && a.p50 !== null && b.p50 ? round(a.p50 / b.p50) : null,
      samples: inTx.length,
    },
    details: { in_tx: a, plain: b },
    notes: enough ? [] : [`fewer than ${MIN_SAMPLES} samples per side: no ratio`],
  };
}
