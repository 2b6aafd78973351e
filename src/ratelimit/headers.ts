/**
 * The Messages API's rate-limit response headers (Anthropic "Rate limits" docs): for requests,
 * input tokens and output tokens, `anthropic-ratelimit-<kind>-limit`, `-remaining` and `-reset`
 * (an RFC 3339 time when the bucket is full again), plus `anthropic-ratelimit-tokens-*` (the most
 * restrictive token limit in effect, used for input tokens when no input-specific header came),
 * and on a 429 `retry-after` in seconds.
 */
export interface LimitReading {
  limit: number;
  remaining: number;
  /** null when the header is missing or not a date. */
  reset: Date | null;
}

export interface RateLimitHeaders {
  requests: LimitReading | null;
  inputTokens: LimitReading | null;
  outputTokens: LimitReading | null;
}

interface HeaderSource {
  get(name: string): string | null;
}

const PREFIX = 'anthropic-ratelimit-';

/** Null when the response carries no rate-limit header at all. */
export function readRateLimitHeaders(headers: HeaderSource | null | undefined): RateLimitHeaders | null {
  if (!headers || typeof headers.get !== 'function') return null;
  const requests = reading(headers, 'requests');
  const inputTokens = reading(headers, 'input-tokens') ?? reading(headers, 'tokens');
  const outputTokens = reading(headers, 'output-tokens');
  if (!requests && !inputTokens && !outputTokens) return null;
  return { requests, inputTokens, outputTokens };
}

function reading(headers: HeaderSource, kind: string): LimitReading | null {
  const limit = wholeNumber(headers.get(`${PREFIX}${kind}-limit`));
  const remaining = wholeNumber(headers.get(`${PREFIX}${kind}-remaining`));
  if (limit === null || remaining === null || limit <= 0) return null;
  const raw = headers.get(`${PREFIX}${kind}-reset`);
  const reset = raw === null ? NaN : Date.parse(raw);
  return { limit, remaining: Math.min(remaining, limit), reset: Number.isFinite(reset) ? new Date(reset) : null };
}

function wholeNumber(v: string | null): number | null {
  if (v === null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : null;
}

/** `retry-after-ms` (milliseconds) first, then `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: HeaderSource | null | undefined): number | null {
  if (!headers || typeof headers.get !== 'function') return null;
  const rawMs = headers.get('retry-after-ms');
  const ms = Number(rawMs);
  if (rawMs !== null && rawMs.trim() !== '' && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}
