/**
 * cache_read_share: the share of a long session's input tokens billed as prompt-cache reads. One
 * session of TURNS runs (an agent with a system prompt and a tool, default cache settings) against
 * the fake Messages API, which caches like the real one (src/testing/promptCache.ts). From turn 3
 * on (turn 1 writes the cache, turn 2 is the first to read the conversation), the share is
 *   sum(cache_read_input_tokens) / sum(input_tokens + cache_creation_input_tokens + cache_read_input_tokens)
 * over the model calls stored in agentpg_messages: what agentpg's breakpoint placement saves,
 * independent of timing. Beside it, the same conversation with `cache: false` (share 0 by
 * construction) gives the uncached input tokens, for the saving in input-token cost.
 */
import { AgentPG, defineAgent, defineTool } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic, type FakeReply } from '../../src/testing/index.js';
import type { BenchContext, MetricResult } from '../lib/context.js';
import type { BenchDatabase } from '../lib/database.js';
import { round } from '../lib/stats.js';

export interface CacheReadShareValue {
  share: number | null;
  turns: number;
  /** Input-token cost with caching over without (reads at 0.1x, writes at 1.25x the input price). */
  cost_ratio: number | null;
}

const TURNS = 20;
const SYSTEM =
  'You are a support assistant for a bookshop. Answer briefly, cite the order number, never guess. '.repeat(20);

export async function measureCacheReadShare(
  ctx: BenchContext,
  db: BenchDatabase,
): Promise<MetricResult<CacheReadShareValue>> {
  const fake = await startFakeAnthropic({ record: false });
  let turn = 0;
  // Every third turn looks something up first: a run of two model calls, like real sessions.
  fake.setResponder((): FakeReply => {
    turn++;
    return { text: `Here is what I found about your order, in some detail. `.repeat(6) + turn };
  });
  const lookup = defineTool({
    name: 'lookup_order',
    description: 'Looks an order up by its number.',
    inputSchema: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] },
    execute: () => 'shipped on Monday',
  });
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'bench-key', baseURL: fake.url },
    tools: [lookup],
    agents: [
      defineAgent({ name: 'cached', model: 'claude-sonnet-4-6', systemPrompt: SYSTEM, tools: ['lookup_order'] }),
      defineAgent({
        name: 'uncached',
        model: 'claude-sonnet-4-6',
        systemPrompt: SYSTEM,
        tools: ['lookup_order'],
        cache: false,
      }),
    ],
    migrate: false,
    logger: createLogger({ level: 'warn' }),
  });
  await client.start();
  const totals: Record<string, { input: number; creation: number; read: number }> = {};
  try {
    ctx.log(`cache_read_share: a ${TURNS}-turn session, cached and uncached`);
    for (const name of ['cached', 'uncached']) {
      const agent = client.agent(name);
      const sessionId = await agent.newSession({ tenantId: 'bench', identifier: name });
      const runIds: string[] = [];
      for (let i = 1; i <= TURNS; i++) {
        if (i % 3 === 0) fake.enqueue({ toolUses: [{ name: 'lookup_order', input: { order: `A-${i}` } }] });
        const res = await agent.run(sessionId, `Question ${i}: where is my order A-${i}, and when will it arrive?`);
        runIds.push(res.run.id);
      }
      const rows = await db.query<{ input: string; creation: string; read: string }>(
        `select sum(input_tokens) as input, sum(cache_creation_input_tokens) as creation, sum(cache_read_input_tokens) as read
           from agentpg_runs where id = any($1::uuid[])`,
        [runIds.slice(2)],
      );
      const r = rows[0];
      totals[name] = { input: Number(r.input), creation: Number(r.creation), read: Number(r.read) };
    }
  } finally {
    await client.stop().catch(() => {});
    await fake.close().catch(() => {});
  }
  const c = totals.cached;
  const u = totals.uncached;
  const billed = c.input + c.creation + c.read;
  const uncachedCost = u.input + u.creation + u.read;
  return {
    value: {
      share: billed > 0 ? round(c.read / billed) : null,
      turns: TURNS,
      cost_ratio: uncachedCost > 0 ? round((c.input + 1.25 * c.creation + 0.1 * c.read) / uncachedCost) : null,
    },
    details: { cached_after_turn_2: c, uncached_after_turn_2: u },
  };
}
