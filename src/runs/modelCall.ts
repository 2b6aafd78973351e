import Anthropic from '@anthropic-ai/sdk';
import type { AgentPGConfig } from '../config.js';
import { scrubSecrets } from '../errors.js';
import { isRetryableModelErrorType, isRetryableModelStatus } from './failures.js';
import { storableText } from './storable.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { sleep } from '../lifecycle/sleep.js';
import type { Permit } from '../ratelimit/limiter.js';
import { retryAfterMs } from '../ratelimit/headers.js';

/**
 * The client the runs call the model with: the user's own (`anthropic.client`) or one built from
 * the config. The SDK's retries are off by default because callModel retries itself.
 */
export function createAnthropicClient(config: AgentPGConfig): Anthropic {
  const a = config.anthropic ?? {};
  if (a.client) return a.client;
  return new Anthropic({
    // Checked by resolveConfig when this instance has agents; otherwise never used for a call.
    apiKey: a.apiKey ?? process.env.ANTHROPIC_API_KEY ?? 'missing-api-key',
    baseURL: a.baseURL,
    maxRetries: a.maxRetries ?? 0,
    timeout: a.timeoutMs ?? 600_000,
  });
}

/** A model call that failed for good: the run fails with `errorType` and `message`. */
export class ModelCallError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

export interface ModelCallOptions {
  signal: AbortSignal;
  onText?: (delta: string) => void;
  /** Called before a retry (e.g. to drop the partial text of the failed attempt). */
  onRetry?: (info: { attempt: number; delayMs: number; status: number | null; errorType: string }) => void;
  /** Total attempts for retryable errors (429, 529, 5xx, connection). Default 6. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Removed from any error message we keep (Runtime.secrets: the API key, the database password). */
  secrets?: readonly string[];
  /**
   * [ratelimit] Cluster-wide capacity (src/ratelimit/limiter.ts): `acquire` before every attempt
   * (it waits, or throws RateLimitDeferral), `settle` after it with what the API answered. With it,
   * a 429 is not slept on here: its retry-after blocks the whole cluster and `acquire` waits.
   */
  rateLimit?: {
    acquire(): Promise<Permit>;
    /** The response's (or error's) headers, as soon as they arrive; `status` for an error. */
    observe(permit: Permit, headers: Headers | undefined, status?: number | null): Promise<void>;
    /** The real usage, after the call. */
    settle(permit: Permit, usage: Anthropic.Usage): Promise<void>;
  };
}

/** Error types by HTTP status, as the API names them, for errors whose body had no type. */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/**
 * One Messages API call, streamed (text deltas go to `onText`), with agentpg's own retries:
 * 429, 529, other 5xx and connection errors are retried with exponential backoff and jitter,
 * honouring `retry-after-ms` / `retry-after`, for at most `maxAttempts` attempts; the wait is
 * abortable. Any other error (400, 401, 403...) fails at once. The SDK's own retries are off
 * (maxRetries 0 in the client) so the two do not multiply.
 */
export async function callModel(
  anthropic: Anthropic,
  params: Anthropic.MessageCreateParamsNonStreaming,
  opts: ModelCallOptions,
): Promise<Anthropic.Message> {
  const maxAttempts = opts.maxAttempts ?? 6;
  const base = opts.baseDelayMs ?? 500;
  const cap = opts.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    opts.signal.throwIfAborted();
    const permit = opts.rateLimit ? await opts.rateLimit.acquire() : null;
    try {
      const stream = anthropic.messages.stream(params, { signal: opts.signal });
      if (opts.onText) stream.on('text', (delta) => opts.onText!(delta));
      // [ratelimit] At the response's headers, not its end: other calls (the probe's waiters) need
      // them now, and a long answer may stream for minutes.
      let observed: Promise<void> | undefined;
      if (permit) stream.on('connect', () => (observed = opts.rateLimit!.observe(permit, stream.response?.headers)));
      const message = await stream.finalMessage();
      if (permit) {
        await observed;
        await opts.rateLimit!.settle(permit, message.usage);
      }
      return message;
    } catch (err) {
      if (permit && err instanceof Anthropic.APIError && err.status !== undefined)
        await opts.rateLimit!.observe(permit, err.headers, err.status);
      // A probe that ends with no answer at all (aborted, connection lost) teaches nothing, but
      // must end: every other call of the model waits for it.
      else if (permit?.probe) await opts.rateLimit!.observe(permit, undefined);
      if (opts.signal.aborted) throw opts.signal.reason ?? err;
      const failure = classify(err, opts.secrets);
      if (!failure.retryable || attempt >= maxAttempts) {
        throw new ModelCallError(failure.errorType, failure.message, failure.status);
      }
      const backoff = backoffDelay(attempt, { baseMs: base, maxMs: cap });
      // [ratelimit] The cluster-wide block set by settle() is what a 429 waits for (in acquire).
      const limited = permit !== null && failure.status === 429;
      const delayMs = limited ? 0 : Math.min(cap, failure.retryAfterMs ?? backoff);
      opts.onRetry?.({ attempt, delayMs, status: failure.status, errorType: failure.errorType });
      // Resolves early on abort; the next iteration's throwIfAborted ends the call.
      await sleep(delayMs, opts.signal);
    }
  }
}

interface Failure {
  retryable: boolean;
  errorType: string;
  message: string;
  status: number | null;
  retryAfterMs: number | null;
}

function classify(err: unknown, secrets?: readonly string[]): Failure {
  const scrub = (s: string) => storableText(scrubSecrets(s, secrets)).slice(0, 2000);
  if (err instanceof Anthropic.APIConnectionError) {
    return {
      retryable: true,
      errorType: 'connection_error',
      message: scrub(err.message || 'connection error'),
      status: null,
      retryAfterMs: null,
    };
  }
  if (err instanceof Anthropic.APIError) {
    const status = typeof err.status === 'number' ? err.status : null;
    const bodyType = (err.error as { error?: { type?: string } } | undefined)?.error?.type;
    const errorType =
      err.type ??
      bodyType ??
      (status ? (TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')) : 'api_error');
    const message = scrub(err.apiMessage ?? err.message ?? errorType);
    const retryable = status !== null ? isRetryableModelStatus(status) : isRetryableModelErrorType(errorType);
    return { retryable, errorType, message, status, retryAfterMs: retryAfterMs(err.headers) };
  }
  const message = scrub(err instanceof Error ? err.message : String(err));
  return { retryable: false, errorType: 'api_error', message, status: null, retryAfterMs: null };
}
