import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { AgentPGError } from '../errors.js';
import type { Queryable } from '../db/queryable.js';
import { priceOf, type PriceTable } from './prices.js';
import { runSpend, type Spend } from './sql/runSpend.js';
import { tenantSpend, type BudgetPeriod } from './sql/tenantSpend.js';

/** A limit in tokens (every kind: input, cache writes and reads, output), in USD, or both. */
export interface BudgetLimit {
  maxTokens?: number;
  maxUsd?: number;
}

/** `AgentPGConfig.budgets`: checked before each model call (checkBudgets). */
export interface Budgets {
  /** What one run may spend. */
  perRun?: BudgetLimit;
  /** What one tenant's runs may spend together per UTC hour, day or month. */
  perTenant?: TenantBudget;
  /** Budgets of named tenants (a plan, a contract): each replaces perTenant for its tenant. */
  tenants?: Record<string, TenantBudget>;
}

export type TenantBudget = BudgetLimit & { period: BudgetPeriod };

const limit = { maxTokens: z.number().int().positive().optional(), maxUsd: z.number().positive().optional() };
/** A BudgetLimit: the client's `budgets.perRun`, an agent's `budget`. */
export const budgetLimitSchema = z.object(limit).strict();
const tenantBudgetSchema = z.object({ ...limit, period: z.enum(['hour', 'day', 'month']) }).strict();
export const budgetsSchema = z
  .object({
    perRun: budgetLimitSchema.optional(),
    perTenant: tenantBudgetSchema.optional(),
    tenants: z.record(z.string().min(1).max(255), tenantBudgetSchema).optional(),
  })
  .strict();

/** The run's next model call would take it (or its tenant) past a budget: the run fails permanently. */
export class BudgetExceededError extends AgentPGError {
  constructor(message: string) {
    super('budget_exceeded', message);
  }
}

/**
 * Before each model call (src/runs/modelTurn.ts): fails the run with `budget_exceeded` when what was spent
 * plus the most this call can cost passes a budget. The most it can cost: its input (estimated at
 * 4 characters of the request's JSON per token, priced as uncached input) and its whole
 * `max_tokens` of output. So a budget is never passed by a call agentpg let through (as far as the
 * estimate holds), at the price of stopping up to one call early. Reads the spend from the stored
 * calls (runSpend, tenantSpend): a call whose result was lost in a crash is not counted.
 */
export async function checkBudgets(
  rt: { pool: Queryable; config: { budgets?: Budgets; prices: PriceTable } },
  run: { id: string; sessionId: string; tenantId: string },
  params: Anthropic.MessageCreateParams,
  agentBudget?: BudgetLimit,
): Promise<void> {
  const budgets = rt.config.budgets ?? {};
  // The agent's own run budget replaces the client's.
  const perRun = agentBudget ?? budgets.perRun;
  // A named tenant's own budget replaces the one every tenant gets.
  const perTenant = budgets.tenants?.[run.tenantId] ?? budgets.perTenant;
  if (!perRun && !perTenant) return;
  const next = maxCostOf(params, rt.config.prices);
  if (perRun) {
    const spent = await runSpend(rt.pool, run);
    check('run', perRun, spent, next);
  }
  if (perTenant) {
    const spent = await tenantSpend(rt.pool, run.tenantId, perTenant.period);
    check(`tenant's ${PER_PERIOD[perTenant.period]}`, perTenant, spent, next);
  }
}

const PER_PERIOD: Record<BudgetPeriod, string> = { hour: 'hourly', day: 'daily', month: 'monthly' };

function check(what: string, limit: BudgetLimit, spent: Spend, next: Spend): void {
  if (limit.maxTokens !== undefined && spent.tokens + next.tokens > limit.maxTokens)
    throw new BudgetExceededError(
      `the next model call could use up to ${next.tokens} tokens; with the ${spent.tokens} spent that passes the ${what} budget of ${limit.maxTokens} tokens`,
    );
  if (limit.maxUsd !== undefined && spent.usd + next.usd > limit.maxUsd)
    throw new BudgetExceededError(
      `the next model call could cost up to $${next.usd.toFixed(6)}; with the $${spent.usd.toFixed(6)} spent that passes the ${what} budget of $${limit.maxUsd}`,
    );
}

/** The most one call can use: its estimated input and its whole max_tokens. */
function maxCostOf(params: Anthropic.MessageCreateParams, prices: PriceTable): Spend {
  const input = Math.ceil(JSON.stringify(params).length / 4);
  const price = priceOf(params.model, prices);
  return {
    tokens: input + params.max_tokens,
    // A model without a price is refused at construction when a USD budget is set (config.ts).
    usd: price ? (input * price.inputPerMTok + params.max_tokens * price.outputPerMTok) / 1e6 : 0,
  };
}
