/**
 * The fake Messages API's rate limits, modelled on the real API's (Anthropic "Rate limits" docs):
 * a token bucket per dimension (requests, input tokens, output tokens) with capacity = the limit,
 * refilled continuously over the window (60 s like the real API; shorter for tests). A request
 * that does not fit is answered 429 `rate_limit_error` with `retry-after` in whole seconds; every
 * response carries `anthropic-ratelimit-<requests|input-tokens|output-tokens|tokens>-<limit|
 * remaining|reset>` with the reset as an RFC 3339 time (when the bucket is full again). Output
 * tokens are reserved at max_tokens on admission and the unused part given back when the reply is
 * built, as the API does. Unlike the API, token `remaining` values are exact (the API rounds them
 * to the nearest thousand), so small test limits stay observable.
 */
export interface FakeRateLimitOptions {
  requestsPerWindow: number;
  inputTokensPerWindow?: number;
  outputTokensPerWindow?: number;
  /** The bucket's refill window. Default 60 (the real API's minute). */
  windowSeconds?: number;
}

class Bucket {
  private level: number;
  private at: number;
  constructor(
    readonly limit: number,
    private readonly perMs: number,
    now: number,
  ) {
    this.level = limit;
    this.at = now;
  }

  current(now: number): number {
    this.level = Math.min(this.limit, this.level + (now - this.at) * this.perMs);
    this.at = now;
    return this.level;
  }

  take(n: number, now: number): void {
    this.current(now);
    this.level -= n;
  }

  give(n: number, now: number): void {
    this.level = Math.min(this.limit, this.current(now) + n);
  }

  /** Milliseconds until `n` fit. */
  waitFor(n: number, now: number): number {
    const lvl = this.current(now);
    return lvl >= n ? 0 : (n - lvl) / this.perMs;
  }

  headers(kind: string, now: number): Record<string, string> {
    const lvl = Math.max(0, this.current(now));
    return {
      [`anthropic-ratelimit-${kind}-limit`]: String(this.limit),
      [`anthropic-ratelimit-${kind}-remaining`]: String(Math.floor(lvl)),
      [`anthropic-ratelimit-${kind}-reset`]: new Date(now + (this.limit - lvl) / this.perMs).toISOString(),
    };
  }
}

export type Admission =
  | { ok: true; headers: Record<string, string>; outputReserved: number }
  | { ok: false; headers: Record<string, string>; message: string };

export class FakeRateLimits {
  private readonly requests: Bucket;
  private readonly input: Bucket | null;
  private readonly output: Bucket | null;
  private readonly windowMs: number;

  constructor(
    private readonly o: FakeRateLimitOptions,
    now = Date.now(),
  ) {
    this.windowMs = (o.windowSeconds ?? 60) * 1000;
    const bucket = (limit: number | undefined) => (limit ? new Bucket(limit, limit / this.windowMs, now) : null);
    this.requests = bucket(o.requestsPerWindow)!;
    this.input = bucket(o.inputTokensPerWindow);
    this.output = bucket(o.outputTokensPerWindow);
  }

  /** Admits one request (taking its input tokens and max_tokens) or refuses it with a 429's parts. */
  admit(inputTokens: number, maxTokens: number, now = Date.now()): Admission {
    const needIn = Math.min(inputTokens, this.input?.limit ?? 0);
    const needOut = Math.min(maxTokens, this.output?.limit ?? 0);
    const waits: Array<[number, string]> = [
      [this.requests.waitFor(1, now), `${this.o.requestsPerWindow} requests per minute`],
      [this.input?.waitFor(needIn, now) ?? 0, `${this.o.inputTokensPerWindow} input tokens per minute`],
      [this.output?.waitFor(needOut, now) ?? 0, `${this.o.outputTokensPerWindow} output tokens per minute`],
    ];
    const worst = waits.reduce((a, b) => (b[0] > a[0] ? b : a));
    if (worst[0] > 0) {
      return {
        ok: false,
        headers: { ...this.headers(now), 'retry-after': String(Math.max(1, Math.ceil(worst[0] / 1000))) },
        message: `This request would exceed your organization's rate limit of ${worst[1]}. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.`,
      };
    }
    this.requests.take(1, now);
    this.input?.take(needIn, now);
    this.output?.take(needOut, now);
    return { ok: true, headers: this.headers(now), outputReserved: needOut };
  }

  /** The reply used fewer output tokens than reserved: the rest goes back to the bucket. */
  settleOutput(reserved: number, used: number, now = Date.now()): void {
    if (this.output && reserved > used) this.output.give(reserved - used, now);
  }

  private headers(now: number): Record<string, string> {
    const h = { ...this.requests.headers('requests', now) };
    if (this.input) Object.assign(h, this.input.headers('input-tokens', now));
    if (this.output) Object.assign(h, this.output.headers('output-tokens', now));
    // The most restrictive token limit in effect (the one with the least remaining).
    const tight = [this.input && ['input-tokens', this.input], this.output && ['output-tokens', this.output]]
      .filter((x): x is [string, Bucket] => !!x)
      .sort((a, b) => a[1].current(now) - b[1].current(now))[0];
    if (tight) {
      for (const [k, v] of Object.entries(tight[1].headers(tight[0], now)))
        h[k.replace(`-${tight[0]}-`, '-tokens-')] = v;
    }
    return h;
  }
}
