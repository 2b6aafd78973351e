import Anthropic from '@anthropic-ai/sdk';
import { redactSecrets } from '../errors.js';

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
  /** Removed from any error message we keep (the configured API key). */
  secret?: string;
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

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

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
    try {
      const stream = anthropic.messages.stream(params, { signal: opts.signal });
      if (opts.onText) stream.on('text', (delta) => opts.onText!(delta));
      return await stream.finalMessage();
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason ?? err;
      const failure = classify(err, opts.secret);
      if (!failure.retryable || attempt >= maxAttempts) {
        throw new ModelCallError(failure.errorType, failure.message, failure.status);
      }
      const backoff = Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      const delayMs = Math.min(cap, failure.retryAfterMs ?? backoff);
      opts.onRetry?.({ attempt, delayMs, status: failure.status, errorType: failure.errorType });
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

function classify(err: unknown, secret?: string): Failure {
  const scrub = (s: string) => {
    let out = redactSecrets(s);
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
    return out.slice(0, 2000);
  };
  if (err instanceof Anthropic.APIConnectionError) {
    return { retryable: true, errorType: 'connection_error', message: scrub(err.message || 'connection error'), status: null, retryAfterMs: null };
  }
  if (err instanceof Anthropic.APIError) {
    const status = typeof err.status === 'number' ? err.status : null;
    const bodyType = (err.error as { error?: { type?: string } } | undefined)?.error?.type;
    const errorType = err.type ?? bodyType ?? (status ? (TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')) : 'api_error');
    const message = scrub(err.apiMessage ?? err.message ?? errorType);
    // A stream that broke mid-way with an SSE `error` event has no status: retry it if its type says so.
    const retryable = status !== null ? isRetryableStatus(status) : ['overloaded_error', 'api_error', 'rate_limit_error'].includes(errorType);
    return { retryable, errorType, message, status, retryAfterMs: retryAfter(err.headers) };
  }
  const message = scrub(err instanceof Error ? err.message : String(err));
  return { retryable: false, errorType: 'api_error', message, status: null, retryAfterMs: null };
}

/** `retry-after-ms` (milliseconds) first, then `retry-after` (seconds or an HTTP date). */
function retryAfter(headers: Headers | undefined): number | null {
  if (!headers || typeof headers.get !== 'function') return null;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
