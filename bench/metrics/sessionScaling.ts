/**
 * session_scaling: a run's pick-up on a short and on very long sessions, in the same run. Three
 * sessions of 10, 1,000 and 10,000 stored messages (in turns of ten: a prompt, a tool call whose
 * 100 KB output is the third message, answers; so 1,000 x 100 KB = 100 MB of tool output in the
 * longest). The long ones are in the steady state compaction keeps a long session in: a compaction
 * (an agentpg_compactions row, written as a run writes it) archived all but their last 10 messages,
 * so what the model sees is the same size in all three. Then single-turn runs on each, interleaved,
 * ROUNDS rounds; per size the median of:
 *   pickup_ms            enqueue -> the model request reaching the fake (claim, history read,
 *                        transcript rebuild, compaction check);
 *   worker_rss_delta_mb  the peak RSS of this process (the worker runs in it) during the run, minus
 *                        its RSS right before the enqueue;
 *   input_tokens_sent    the run's input tokens (uncached + cache writes + cache reads).
 * ratio_10000_vs_10 = pickup_ms(10,000) / pickup_ms(10). Targets: <= 1.5, and <= 50 MB at 10,000.
 */
import { AgentPG, defineAgent, defineTool, SUMMARY_HEADER } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { percentile, round } from '../lib/stats.js';

const SIZES = [10, 1000, 10_000] as const;
/** The messages left after the long sessions' compaction (the short one's size). */
const LIVE = 10;

export interface SessionSize {
  pickup_ms: number | null;
  worker_rss_delta_mb: number | null;
  input_tokens_sent: number | null;
}
export type SessionScalingValue = Record<'10' | '1000' | '10000', SessionSize> & { ratio_10000_vs_10: number | null };

/** `n` messages in turns of ten; the third of each turn is a tool_result of ~100 KB (hex, not very compressible). */
async function seed(db: BenchDatabase, sessionId: string, n: number): Promise<void> {
  for (let from = 1; from <= n; from += 1000) {
    await db.query(
      `insert into agentpg_messages (session_id, role, content)
       select $1, case when g % 2 = 1 then 'user' else 'assistant' end,
         case g % 10
           when 2 then jsonb_build_array(jsonb_build_object('type', 'tool_use', 'id', 'toolu_' || g, 'name', 'lookup',
                                                            'input', jsonb_build_object('q', 'item ' || g)))
           when 3 then jsonb_build_array(jsonb_build_object('type', 'tool_result', 'tool_use_id', 'toolu_' || (g - 1),
                         'content', (select string_agg(md5(g::text || '-' || i), '') from generate_series(1, 3125) i)))
           else jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'message ' || g || ' of the conversation'))
         end
       from generate_series($2::int, $3::int) g order by g`,
      [sessionId, from, Math.min(n, from + 999)],
    );
  }
  if (n <= LIVE) return;
  await db.query(
    `insert into agentpg_compactions (session_id, number, through_seq, replacement, strategy, model, messages_archived,
         tokens_before, tokens_after, duration_ms)
     select $1, 1, m.seq, $2, 'hybrid', 'claude-sonnet-5-5', $3, 160000, 30000, 0
       from (select seq from agentpg_messages where session_id = $1 order by seq offset $3 limit 1) m`,
    [
      sessionId,
      JSON.stringify([{ role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\n\nEarlier turns.` }] }]),
      n - LIVE - 1,
    ],
  );
}

export async function measureSessionScaling(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<SessionScalingValue>> {
  // Enough rounds for a stable median: with 3, one slow sample in a quick run moved the ratio 3x.
  const rounds = ctx.quick ? 15 : 31;
  /** When the fake received the run's model request (its responder runs on arrival). */
  const fakeSaw = { requestAt: 0 };
  const fake = await startFakeAnthropic({ record: false });
  fake.setResponder(() => {
    fakeSaw.requestAt = performance.now();
    return { text: 'Noted.' };
  });
  const lookup = defineTool({
    name: 'lookup',
    description: 'Looks an item up.',
    inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
    execute: () => 'found',
  });
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'bench-key', baseURL: fake.url },
    tools: [lookup],
    agents: [defineAgent({ name: 'long_sessions', model: 'claude-sonnet-5-5', tools: ['lookup'] })],
    migrate: false,
    logger: createLogger({ level: 'warn' }),
  });
  await client.start();
  const samples = new Map<number, { pickup: number[]; rss: number[]; tokens: number[] }>();
  const sessions = new Map<number, string>();
  try {
    const agent = client.agent('long_sessions');
    for (const n of SIZES) {
      ctx.log(`session_scaling: seeding a session of ${n} messages`);
      const id = await agent.newSession({ tenantId: 'bench', identifier: `scaling-${n}` });
      await seed(db, id, n);
      sessions.set(n, id);
      samples.set(n, { pickup: [], rss: [], tokens: [] });
    }
    await db.query('analyze agentpg_messages');
    await db.query('analyze agentpg_compactions');
    // A warm-up run (connections, JIT), not counted.
    await agent.run(sessions.get(10)!, 'Warm up.');
    for (let r = 0; r < rounds; r++) {
      for (const n of SIZES) {
        const before = process.memoryUsage().rss;
        let peak = before;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
        const t0 = performance.now();
        const { run } = await agent.run(sessions.get(n)!, `Round ${r}: anything new?`);
        clearInterval(sampler);
        peak = Math.max(peak, process.memoryUsage().rss);
        const s = samples.get(n)!;
        s.pickup.push(fakeSaw.requestAt - t0);
        s.rss.push((peak - before) / 1024 / 1024);
        s.tokens.push(run.inputTokens + run.cacheCreationInputTokens + run.cacheReadInputTokens);
      }
    }
  } finally {
    await client.stop().catch(() => {});
    await fake.close().catch(() => {});
  }
  const median = (xs: number[]) => {
    const p = percentile(xs, 50);
    return p === null ? null : round(p);
  };
  const size = (n: number): SessionSize => {
    const s = samples.get(n)!;
    return { pickup_ms: median(s.pickup), worker_rss_delta_mb: median(s.rss), input_tokens_sent: median(s.tokens) };
  };
  const value = { '10': size(10), '1000': size(1000), '10000': size(10_000) };
  const short = value['10'].pickup_ms;
  const long = value['10000'].pickup_ms;
  return {
    value: { ...value, ratio_10000_vs_10: short && long !== null ? round(long / short) : null },
    details: {
      rounds,
      live_messages: LIVE,
      samples: Object.fromEntries([...samples].map(([n, s]) => [n, s])),
    },
  };
}
