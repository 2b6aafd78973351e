import { describe, expect } from 'vitest';
import { z } from 'zod';
import { AgentPG, ConfigError, type AgentPGConfig, defineAgent, defineTool, RunFailedError } from '../../src/index.js';
import pg from 'pg';
import { costOf, DEFAULT_PRICES } from '../../src/costs/prices.js';
import { createMetrics } from '../../src/service/metrics.js';
import { test as base, type TestDatabase } from '../helpers/fixtures.js';

const MODEL = 'claude-sonnet-5-5';
const RUN_BUDGET_TOKENS = 4_000;
const TENANT_BUDGET_TOKENS = 400;
const MAX_TOKENS = 50;

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => String(a + b),
});

const test = base
  .extend('looping', { scope: 'file' }, async ({ startClient }) =>
    startClient({
      agents: [
        defineAgent({ name: 'looper', model: MODEL, maxTokens: MAX_TOKENS, tools: ['add'] }),
        defineAgent({
          name: 'thrifty',
          model: MODEL,
          maxTokens: MAX_TOKENS,
          tools: ['add'],
          budget: { maxTokens: 1_500 },
        }),
      ],
      tools: [add],
      maxToolIterations: 1000,
      budgets: { perRun: { maxTokens: RUN_BUDGET_TOKENS } },
    }),
  )
  // Another client (its own budgets), another agent: each client runs only its own agent's runs.
  .extend('chatting', { scope: 'file' }, async ({ startClient }) =>
    startClient({
      agents: [defineAgent({ name: 'chat', model: MODEL, maxTokens: MAX_TOKENS })],
      budgets: {
        perTenant: { maxTokens: TENANT_BUDGET_TOKENS, period: 'day' },
        // A tenant on a plan of its own: too small for even one call.
        tenants: { tiny: { maxTokens: 10, period: 'hour' } },
      },
    }),
  );

// The looper always asks for the tool again; the chat agent answers at once.
test.beforeAll(({ fake }) => {
  fake.setResponder((req) =>
    req.body.tools?.length ? { toolUses: [{ name: 'add', input: { a: 1, b: 2 } }] } : { text: 'hello there' },
  );
});

async function runCosts(db: TestDatabase, runId: string) {
  const [row] = await db.query(`select * from agentpg_run_costs where run_id = $1`, [runId]);
  return row;
}

describe('cost and budgets', { timeout: 120_000 }, () => {
  test('stores each model call cost from the price table and sums it per run, session and tenant', async ({
    db,
    chatting,
  }) => {
    const agent = chatting.agent('chat');
    const sessionId = await agent.newSession({ tenantId: 'costly', identifier: 'one' });
    const res = await agent.run(sessionId, 'hi');
    const [m] = await db.query(`select * from agentpg_messages where run_id = $1 and role = 'assistant'`, [res.run.id]);
    const expected = costOf(
      {
        inputTokens: m.input_tokens,
        outputTokens: m.output_tokens,
        cacheCreationInputTokens: m.cache_creation_input_tokens,
        cacheReadInputTokens: m.cache_read_input_tokens,
      },
      DEFAULT_PRICES[MODEL],
    );
    expect(expected).toBeGreaterThan(0);
    expect(Number(m.cost_usd)).toBeCloseTo(expected, 9);
    const run = await runCosts(db, res.run.id);
    expect(run).toMatchObject({ tenant_id: 'costly', model_calls: 1 });
    expect(Number(run.cost_usd)).toBeCloseTo(expected, 9);
    const [session] = await db.query(`select * from agentpg_session_costs where session_id = $1`, [sessionId]);
    expect(Number(session.cost_usd)).toBeCloseTo(expected, 9);
    const [tenant] = await db.query(`select * from agentpg_tenant_costs where tenant_id = 'costly'`);
    expect(tenant.model_calls).toBe(1);
    expect(Number(tenant.cost_usd)).toBeCloseTo(expected, 9);

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const text = await createMetrics(chatting, pool).render();
      const value = Number(/^agentpg_cost_usd_last_hour (\S+)$/m.exec(text)![1]);
      expect(value).toBeCloseTo(expected, 9);
    } finally {
      await pool.end();
    }
  });

  test('a run budget stops a looping agent before the call that would exceed it', async ({ db, fake, looping }) => {
    const agent = looping.agent('looper');
    const sessionId = await agent.newSession({ tenantId: 'loops', identifier: 'loop' });
    const before = fake.stats.received;
    const err = await agent.run(sessionId, 'loop forever').catch((e) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.run.errorType).toBe('budget_exceeded');
    const run = await runCosts(db, err.run.id);
    const spent =
      Number(run.input_tokens) +
      Number(run.output_tokens) +
      Number(run.cache_creation_input_tokens) +
      Number(run.cache_read_input_tokens);
    // The loop ran, every call it made was stored, and no call was made after the last one stored.
    expect(run.model_calls).toBeGreaterThan(2);
    expect(fake.stats.received - before).toBe(run.model_calls);
    // Within the budget, and the refused call (its input estimate plus max_tokens) would have passed it.
    expect(spent).toBeLessThanOrEqual(RUN_BUDGET_TOKENS);
    const [, next, spentSaid] = /could use up to (\d+) tokens; with the (\d+) spent/.exec(err.run.errorMessage)!;
    expect(Number(spentSaid)).toBe(spent);
    expect(spent + Number(next)).toBeGreaterThan(RUN_BUDGET_TOKENS);
    expect(Number(next)).toBeGreaterThan(MAX_TOKENS);
  });

  test("an agent's budget replaces the client's run budget", async ({ looping }) => {
    const agent = looping.agent('thrifty');
    const err = await agent
      .run(await agent.newSession({ tenantId: 'loops', identifier: 'thrifty' }), 'loop')
      .catch((e) => e);
    expect(err.run.errorType).toBe('budget_exceeded');
    expect(err.run.errorMessage).toMatch(/passes the run budget of 1500 tokens/);
    expect(
      () =>
        new AgentPG({
          databaseUrl: 'postgres://x@localhost/db',
          agents: [defineAgent({ name: 'b', model: MODEL, budget: { maxTokens: -1 } })],
        }),
    ).toThrow(ConfigError);
  });

  test('a tenant budget per day stops that tenant before its call; other tenants go on', async ({ db, chatting }) => {
    const agent = chatting.agent('chat');
    let failed: RunFailedError | null = null;
    let completed = 0;
    for (let i = 0; i < 40 && !failed; i++) {
      const sessionId = await agent.newSession({ tenantId: 'small', identifier: `s${i}` });
      await agent.run(sessionId, 'hi').then(
        () => completed++,
        (e) => (failed = e as RunFailedError),
      );
    }
    expect(completed).toBeGreaterThan(0);
    expect(failed).toBeInstanceOf(RunFailedError);
    expect(failed!.run.errorType).toBe('budget_exceeded');
    expect(failed!.run.errorMessage).toMatch(/tenant's daily budget of 400 tokens/);
    expect((await runCosts(db, failed!.run.id)).model_calls).toBe(0);
    const [day] = await db.query(
      `select input_tokens + output_tokens + cache_creation_input_tokens + cache_read_input_tokens as tokens
         from agentpg_tenant_costs where tenant_id = 'small'`,
    );
    expect(Number(day.tokens)).toBeLessThanOrEqual(TENANT_BUDGET_TOKENS);

    const other = await agent.run(await agent.newSession({ tenantId: 'other', identifier: 'o' }), 'hi');
    expect(other.run.state).toBe('completed');
  });

  test("a named tenant's own budget replaces the one every tenant gets", async ({ db, chatting }) => {
    const agent = chatting.agent('chat');
    const err = await agent.run(await agent.newSession({ tenantId: 'tiny', identifier: 't' }), 'hi').then(
      () => null,
      (e: unknown) => e as RunFailedError,
    );
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err!.run.errorType).toBe('budget_exceeded');
    expect(err!.run.errorMessage).toMatch(/tenant's hourly budget of 10 tokens/);
    expect((await runCosts(db, err!.run.id)).model_calls).toBe(0);
  });

  test('a USD budget needs a price for every model: ConfigError at construction', () => {
    const withUsdBudget = (config: Partial<AgentPGConfig>) => () =>
      new AgentPG({
        databaseUrl: 'postgres://x@localhost/db',
        anthropic: { apiKey: 'sk-ant-x' },
        agents: [defineAgent({ name: 'a', model: 'my-own-model' })],
        budgets: { perRun: { maxUsd: 1 } },
        ...config,
      });
    expect(withUsdBudget({})).toThrow(ConfigError);
    expect(withUsdBudget({ prices: { 'my-own-model': { inputPerMTok: 1, outputPerMTok: 2 } } })).not.toThrow();
  });
});
