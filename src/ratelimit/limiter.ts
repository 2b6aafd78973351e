import type Anthropic from '@anthropic-ai/sdk';
import type { Queryable } from '../db/queryable.js';
import { sleep } from '../lifecycle/sleep.js';
import { countedInputTokens, estimateCall } from './estimate.js';
import { readRateLimitHeaders, retryAfterMs } from './headers.js';
import { RATE_LIMIT_DEFAULTS, type RateLimitSettings } from './settings.js';
import { acquireCapacity } from './sql/acquireCapacity.js';
import { observeResponse } from './sql/observeResponse.js';

/**
 * The wait for capacity is longer than a worker slot should be held (maxWaitInPlaceMs): the run
 * is handed back to its job, due in `waitMs` (src/runs/rateLimitWait.ts). Not a failure.
 */
export class RateLimitDeferral extends Error {
  constructor(readonly waitMs: number) {
    super(`waiting ${Math.round(waitMs)} ms for model capacity`);
    this.name = 'RateLimitDeferral';
  }
}

/** One granted call: what it reserved, so its response can settle the reservation. */
export interface Permit {
  model: string;
  sentAt: Date;
  /**
   * false: no limit is known for the model (the probe, or an API without rate-limit headers): only
   * headers (or a 429) are worth a statement.
   */
  known: boolean;
  /** The first call for the model and key: its answer ends the probe even without headers. */
  probe: boolean;
  /** Token limits apply (configured, or the response's headers had them): the reservation is settled. */
  tokenLimited: boolean;
  inputReserved: number;
  outputReserved: number;
}

type HeaderSource = { get(name: string): string | null } | null | undefined;

/** With no bucket known for a model, ask the database again only after this long (not per call). */
const UNKNOWN_RECHECK_MS = 5_000;
/** Spread of the sleeps of waiters refused together, so they do not all come back at once. */
const JITTER_MS = 25;

/**
 * Cluster-wide rate limiting of model calls (README "Rate limits"): one token bucket per (model,
 * API key hash) in agentpg_rate_limits, shared by every instance. Before each attempt of a model
 * call `acquire` takes capacity in one statement or waits for it (in place while the total wait
 * stays under maxWaitInPlaceMs, else RateLimitDeferral); after it `settle` reports what the API
 * said (limits, remaining, reset, a 429's retry-after) in one statement. A model with no known
 * limit costs no statement until a response carries rate-limit headers.
 */
export class ModelRateLimiter {
  private readonly unknownUntil = new Map<string, number>();
  private readonly maxWaitInPlaceMs: number;

  constructor(
    private readonly db: Queryable,
    private readonly settings: RateLimitSettings,
    readonly keyHash: string,
    private readonly reportError: (err: unknown, context?: string) => void,
  ) {
    this.maxWaitInPlaceMs = settings.maxWaitInPlaceMs ?? RATE_LIMIT_DEFAULTS.maxWaitInPlaceMs;
  }

  /**
   * Capacity for one attempt of a call of `params.model` by `tenantId`. Sleeps (abortably) for
   * short waits; throws RateLimitDeferral once the wait would exceed maxWaitInPlaceMs in total.
   */
  async acquire(
    params: Anthropic.MessageCreateParamsNonStreaming,
    tenantId: string,
    signal: AbortSignal,
  ): Promise<Permit> {
    const model = params.model;
    const configured = this.settings.models?.[model];
    // The estimate serializes the whole conversation (as the SDK does again to send it): computed
    // only when something reads it, so a model with no known limit (no statement) skips it.
    let estimate: { input: number; output: number } | undefined;
    const estimated = () => (estimate ??= estimateCall(params));
    const permit = (known: boolean, probe = false): Permit => ({
      model,
      sentAt: new Date(),
      known,
      probe,
      tokenLimited: !!(configured?.inputTokensPerMinute || configured?.outputTokensPerMinute),
      get inputReserved() {
        return estimated().input;
      },
      get outputReserved() {
        return estimated().output;
      },
    });
    if (!configured && (this.unknownUntil.get(model) ?? 0) > Date.now()) return permit(false);
    let waited = 0;
    for (;;) {
      signal.throwIfAborted();
      const res = await acquireCapacity(this.db, {
        model,
        keyHash: this.keyHash,
        tenantId,
        inputTokens: estimated().input,
        outputTokens: estimated().output,
        requestsPerMinute: configured?.requestsPerMinute ?? null,
        inputTokensPerMinute: configured?.inputTokensPerMinute ?? null,
        outputTokensPerMinute: configured?.outputTokensPerMinute ?? null,
      });
      if (res.granted) {
        // Not the probe: its waiters must keep asking the database until its headers are in.
        if (res.known) this.unknownUntil.delete(model);
        else if (!res.probe) this.unknownUntil.set(model, Date.now() + UNKNOWN_RECHECK_MS);
        return permit(res.known, res.probe);
      }
      const delay = res.waitMs + Math.random() * JITTER_MS;
      if (waited + delay > this.maxWaitInPlaceMs) throw new RateLimitDeferral(delay);
      await sleep(delay, signal);
      waited += delay;
    }
  }

  /**
   * What the API said, as soon as its response (or error) headers arrive: learned limits and
   * rates, levels synced to what remains, a 429's retry-after as a block for the whole cluster,
   * the probe ended. An error answer used nothing: its reservation goes back. A failed statement
   * is reported, never thrown: the call itself goes on.
   */
  async observe(permit: Permit, source: HeaderSource, status?: number | null): Promise<void> {
    const headers = readRateLimitHeaders(source);
    if (headers?.inputTokens || headers?.outputTokens) permit.tokenLimited = true;
    const failed = status !== undefined && status !== null;
    const limited = status === 429;
    if (!permit.known && !headers && !limited && !permit.probe) return;
    await this.write(permit, {
      headers,
      inputRefund: failed ? permit.inputReserved : 0,
      outputRefund: failed ? permit.outputReserved : 0,
      blockedUntil: limited ? new Date(Date.now() + (retryAfterMs(source) ?? 1000)) : null,
      // Only a call granted from a known bucket was counted in flight.
      arrived: permit.known,
    });
    if (failed) permit.tokenLimited = false; // settled already
  }

  /** After the call: the token reservation settled against the real usage (only when token limits apply). */
  async settle(permit: Permit, usage: Anthropic.Usage | undefined): Promise<void> {
    if (!permit.tokenLimited || !usage) return;
    const counted = countedInputTokens(usage) ?? permit.inputReserved;
    await this.write(permit, {
      headers: null,
      inputRefund: permit.inputReserved - counted,
      outputRefund: permit.outputReserved - usage.output_tokens,
      blockedUntil: null,
      arrived: false, // observe() already took it out of flight
    });
  }

  private async write(
    permit: Permit,
    o: Omit<Parameters<typeof observeResponse>[1], 'model' | 'keyHash' | 'sentAt'>,
  ): Promise<void> {
    try {
      // When the API counted the call: between the grant and now. The midpoint: the grant alone
      // (the earliest) made a busy process, slow to send, learn a rate too low by its own delay.
      const countedAt = o.headers ? new Date((permit.sentAt.getTime() + Date.now()) / 2) : permit.sentAt;
      await observeResponse(this.db, { model: permit.model, keyHash: this.keyHash, sentAt: countedAt, ...o });
      if (o.headers || o.blockedUntil) this.unknownUntil.delete(permit.model);
    } catch (err) {
      this.reportError(err, 'rate limit observe');
    }
  }
}
