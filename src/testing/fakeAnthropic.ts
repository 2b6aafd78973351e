/**
 * A fake Anthropic Messages API: a real HTTP server (node:http) that the real `@anthropic-ai/sdk`
 * talks to through `baseURL`, so agents can be exercised offline with scripted replies, failures,
 * dropped connections, latency and streaming.
 *
 *   const fake = await startFakeAnthropic();
 *   const client = new Anthropic({ apiKey: 'test', baseURL: fake.url });
 *   fake.enqueue({ toolUses: [{ name: 'search', input: { q: 'x' } }] }, { text: 'done' });
 *
 * Reply selection per POST /v1/messages: the FIFO script (`enqueue`) first, then the responder
 * (`setResponder`, may return undefined to pass), then `defaultReply`, then `{ text: 'ok' }`.
 *
 * Prompt caching is modelled like the real API (promptCache.ts): `cache_control` breakpoints write
 * the request's prefix, a prefix seen before is billed as `cache_read_input_tokens`. A reply's own
 * `usage` fields win over what the cache computed. POST /v1/messages/count_tokens answers
 * `{ input_tokens }` with the same estimate (one token per four characters), caching aside.
 *
 * The Message Batches API (`/v1/messages/batches`: create, retrieve, list, results, cancel) is
 * served by fakeBatches.ts with the same reply selection, each batch ending `batchProcessingDelayMs`
 * after its creation; `fake.batches` holds the batches and counts the requests per endpoint.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Anthropic from '@anthropic-ai/sdk';
import { buildMessage, inputTokensOf, makeId, replyKind, type FakeReply, type FakeReplyKind } from './script.js';
import { FakePromptCache, MAX_CACHE_BREAKPOINTS, stripCacheControl } from './promptCache.js';
import { messageToSseFrames } from './sse.js';
import { FakeRateLimits, type FakeRateLimitOptions } from './rateLimit.js';
import { erroredResult, FakeBatches } from './fakeBatches.js';
import { readBody, redactHeaders, sendError, sendJson, sendScriptedError, waitUnlessClosed } from './fakeHttp.js';

export interface FakeAnthropicOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Default delay before each response (a reply's own `latencyMs` wins). Default 0. */
  latencyMs?: number;
  /** Reply used when neither the script nor the responder supplies one. Default `{ text: 'ok' }`. */
  defaultReply?: FakeReply;
  /** Initial responder (see `setResponder`). */
  responder?: FakeResponder;
  /**
   * Keep received requests in `fake.requests`: true (default) keeps all, a number keeps only the
   * most recent N, false keeps none (counters in `stats` are always maintained).
   */
  record?: boolean | number;
  /**
   * Shortest prefix (in estimated tokens) the prompt cache stores. Default 0; the real API's is 1024
   * or more depending on the model (set it to test that short prompts are never cached).
   */
  minCacheableTokens?: number;
  /**
   * The model's context window: a POST /v1/messages whose input (the fake's estimate) exceeds it is
   * answered 400 `invalid_request_error` "prompt is too long: N tokens > W maximum", as the real
   * API does. Default: no limit.
   */
  contextWindowTokens?: number;
  /**
   * Rate limits like the real API's (rateLimit.ts): requests (and optionally input/output tokens)
   * per window, a 429 `rate_limit_error` with `retry-after` when exceeded, the
   * `anthropic-ratelimit-*` headers on every POST /v1/messages response. Default: none (no headers).
   */
  rateLimit?: FakeRateLimitOptions;
  /** Message Batches: how long after its creation a batch ends (its results available). Default 500. */
  batchProcessingDelayMs?: number;
}

/** One POST /v1/messages as the fake saw it. Secrets are redacted from `headers`. */
export interface FakeRequest {
  /** 1-based arrival order. */
  seq: number;
  body: Anthropic.MessageCreateParams;
  /** Lower-cased request headers; `x-api-key` and `authorization` are replaced by '[REDACTED]'. */
  headers: Record<string, string | string[] | undefined>;
  stream: boolean;
  receivedAt: Date;
  /** What was served (set once a reply was chosen). */
  reply?: FakeReplyKind;
  /** HTTP status sent; undefined for a drop or before the response started. */
  status?: number;
  /** The client went away (socket closed) before the response was complete. */
  aborted: boolean;
  completedAt?: Date;
  /** Set for a request of a message batch (not recorded in `requests`, not counted in `stats`). */
  batch?: { batchId: string; customId: string };
}

export type FakeResponder = (request: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>;

export interface FakeAnthropicStats {
  /** POST /v1/messages received (valid or not). */
  received: number;
  /** Responses fully sent. */
  completed: number;
  /** Requests the client abandoned before the response was complete. */
  aborted: number;
  /** Connections dropped on purpose (`{ drop: true }`). */
  dropped: number;
  /** Requests refused with 429 by the fake's own rate limit (`rateLimit`). */
  rateLimited: number;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:PORT` — pass as `baseURL` to `new Anthropic(...)`. */
  readonly url: string;
  readonly port: number;
  /** Recorded requests, oldest first (see `record`). */
  readonly requests: readonly FakeRequest[];
  readonly stats: Readonly<FakeAnthropicStats>;
  /** Scripted replies not yet consumed. */
  readonly queued: number;
  /** Appends replies to the FIFO script consumed by successive POST /v1/messages. */
  enqueue(...replies: FakeReply[]): void;
  /** Computes replies from the request when the script is empty; undefined removes it. */
  setResponder(responder: FakeResponder | undefined): void;
  /** Resolves once `count` requests in total have been received (since start or `reset`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Forgets every prompt-cache entry (the next requests write their prefixes again). */
  clearCache(): void;
  /** Replaces the rate limit (a fresh, full bucket); undefined removes it. */
  setRateLimit(limit: FakeRateLimitOptions | undefined): void;
  /** The Message Batches API: its batches, request counts per endpoint, processing delay, outcomes. */
  readonly batches: FakeBatches;
  /** Clears the script, the responder, the recorded requests, the counters and the prompt cache. */
  reset(): void;
  /** Stops listening and destroys open connections (in-flight requests are recorded as aborted). */
  close(): Promise<void>;
}

const DEFAULT_REPLY: FakeReply = { text: 'ok' };

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const host = options.host ?? '127.0.0.1';
  const defaultLatency = options.latencyMs ?? 0;
  const recordLimit = options.record === false ? 0 : typeof options.record === 'number' ? options.record : Infinity;
  const script: FakeReply[] = [];
  let scriptHead = 0;
  let responder = options.responder;
  let requests: FakeRequest[] = [];
  const stats: FakeAnthropicStats = { received: 0, completed: 0, aborted: 0, dropped: 0, rateLimited: 0 };
  let limits = options.rateLimit ? new FakeRateLimits(options.rateLimit) : null;
  let waiters: Array<{ count: number; resolve: () => void }> = [];
  const cache = new FakePromptCache(options.minCacheableTokens ?? 0);
  let baseUrl = '';
  const batches = new FakeBatches(
    () => baseUrl,
    options.batchProcessingDelayMs ?? 500,
    async (customId, params, batchId) => {
      const invalid = validate(params, true) ?? tooLong(params, options.contextWindowTokens);
      if (invalid) return erroredResult(400, 'invalid_request_error', invalid);
      const rec: FakeRequest = {
        seq: 0,
        body: params,
        headers: {},
        stream: false,
        receivedAt: new Date(),
        aborted: false,
        batch: { batchId, customId },
      };
      const reply = await chooseReply(rec);
      rec.reply = replyKind(reply);
      if ('drop' in reply) return erroredResult(500);
      if ('error' in reply) return erroredResult(reply.error.status, reply.error.type, reply.error.message);
      const message = buildMessage(reply, params, cache.bill(params));
      // Batch calls are billed in the batch tier.
      return { type: 'succeeded', message: { ...message, usage: { ...message.usage, service_tier: 'batch' } } };
    },
  );

  function nextScripted(): FakeReply | undefined {
    if (scriptHead >= script.length) return undefined;
    const reply = script[scriptHead++];
    if (scriptHead === script.length) {
      script.length = 0;
      scriptHead = 0;
    }
    return reply;
  }

  async function chooseReply(rec: FakeRequest): Promise<FakeReply> {
    return nextScripted() ?? (responder && (await responder(rec))) ?? options.defaultReply ?? DEFAULT_REPLY;
  }

  function noteReceived(rec: FakeRequest) {
    stats.received++;
    if (recordLimit > 0) {
      requests.push(rec);
      if (requests.length > recordLimit) requests.shift();
    }
    if (waiters.length) {
      waiters = waiters.filter((w) => (stats.received >= w.count ? (w.resolve(), false) : true));
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const isMessages = path === '/v1/messages';
    if (path === '/v1/messages/batches' || path.startsWith('/v1/messages/batches/')) {
      const raw = req.method === 'POST' ? await readBody(req) : (req.resume(), '');
      let parsed: unknown;
      try {
        parsed = raw ? JSON.parse(raw) : null;
      } catch {
        sendError(res, 400, 'invalid_request_error', 'The request body is not valid JSON.');
        return;
      }
      await batches.handle(
        req.method ?? 'GET',
        path,
        new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
        parsed,
        res,
      );
      return;
    }
    if (req.method !== 'POST' || (!isMessages && path !== '/v1/messages/count_tokens')) {
      req.resume();
      sendError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
      return;
    }

    const raw = await readBody(req);
    let body: Anthropic.MessageCreateParams;
    try {
      body = JSON.parse(raw);
    } catch {
      if (isMessages) stats.received++;
      sendError(res, 400, 'invalid_request_error', 'The request body is not valid JSON.');
      return;
    }
    const invalid = validate(body, isMessages) ?? (isMessages ? tooLong(body, options.contextWindowTokens) : undefined);
    if (!isMessages) {
      if (invalid) sendError(res, 400, 'invalid_request_error', invalid);
      else sendJson(res, 200, { input_tokens: inputTokensOf(stripCacheControl(body)) });
      return;
    }

    const rec: FakeRequest = {
      seq: stats.received + 1,
      body,
      headers: redactHeaders(req.headers),
      stream: body.stream === true,
      receivedAt: new Date(),
      aborted: false,
    };
    noteReceived(rec);
    let dropping = false;
    res.once('close', () => {
      if (!res.writableFinished && !dropping) {
        rec.aborted = true;
        stats.aborted++;
      }
    });
    if (invalid) {
      rec.status = 400;
      sendError(res, 400, 'invalid_request_error', invalid);
      finish(rec, res);
      return;
    }

    // Admission before a reply is chosen: a refused request consumes no scripted reply.
    const admission = limits?.admit(inputTokensOf(stripCacheControl(body)), body.max_tokens);
    if (admission && !admission.ok) {
      rec.status = 429;
      stats.rateLimited++;
      sendError(res, 429, 'rate_limit_error', admission.message, admission.headers);
      finish(rec, res);
      return;
    }
    const limitHeaders = admission?.headers ?? {};
    const reply = await chooseReply(rec);
    rec.reply = replyKind(reply);
    const latency = reply.latencyMs ?? defaultLatency;
    if (latency > 0 && !(await waitUnlessClosed(latency, res))) return;
    if (res.destroyed) return;

    if ('drop' in reply) {
      dropping = true;
      stats.dropped++;
      rec.completedAt = new Date();
      req.socket.destroy();
      return;
    }
    if ('error' in reply) {
      rec.status = reply.error.status;
      sendScriptedError(res, reply.error);
      finish(rec, res);
      return;
    }

    // Only a request that is answered reads and writes the cache (an error or a drop does neither).
    const message = buildMessage(reply, body, cache.bill(body));
    if (admission?.ok) limits?.settleOutput(admission.outputReserved, message.usage.output_tokens);
    rec.status = 200;
    if (!rec.stream) {
      sendJson(res, 200, message, limitHeaders);
      finish(rec, res);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': makeId('req'),
      ...limitHeaders,
    });
    const frames = messageToSseFrames(message);
    const chunkDelay = reply.chunkDelayMs ?? 0;
    if (chunkDelay <= 0) {
      res.end(frames.join(''));
    } else {
      for (const frame of frames) {
        if (res.destroyed) return;
        res.write(frame);
        if (!(await waitUnlessClosed(chunkDelay, res))) return;
      }
      res.end();
    }
    finish(rec, res);
  }

  function finish(rec: FakeRequest, res: http.ServerResponse) {
    if (res.writableEnded) {
      stats.completed++;
      rec.completedAt = new Date();
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendError(res, 500, 'api_error', `fake Anthropic failed: ${(err as Error)?.message ?? err}`);
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  baseUrl = url;

  return {
    url,
    port,
    get requests() {
      return requests;
    },
    stats,
    batches,
    get queued() {
      return script.length - scriptHead;
    },
    enqueue(...replies) {
      script.push(...replies);
    },
    setResponder(fn) {
      responder = fn;
    },
    setRateLimit(limit) {
      limits = limit ? new FakeRateLimits(limit) : null;
    },
    waitForRequests(count, timeoutMs = 5_000) {
      if (stats.received >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`fake Anthropic: ${stats.received}/${count} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = { count, resolve: () => (clearTimeout(timer), resolve()) };
        waiters.push(waiter);
      });
    },
    reset() {
      script.length = 0;
      scriptHead = 0;
      responder = options.responder;
      requests = [];
      cache.clear();
      stats.received = stats.completed = stats.aborted = stats.dropped = stats.rateLimited = 0;
      limits = options.rateLimit ? new FakeRateLimits(options.rateLimit) : null;
      batches.reset();
      stats.received = stats.completed = stats.aborted = stats.dropped = 0;
    },
    clearCache() {
      cache.clear();
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** Minimal validation of the fields the real API requires; returns the error message or undefined. */
function validate(body: unknown, requireMaxTokens: boolean): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'The request body must be a JSON object.';
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || !b.model) return 'model: Field required';
  if (!Array.isArray(b.messages)) return 'messages: Field required';
  if (requireMaxTokens && (typeof b.max_tokens !== 'number' || b.max_tokens < 1)) return 'max_tokens: Field required';
  const breakpoints = FakePromptCache.breakpointsOf(b);
  if (breakpoints > MAX_CACHE_BREAKPOINTS)
    return `A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints}.`;
  return undefined;
}

/** The real API's refusal of a request over the context window (count_tokens never refuses). */
function tooLong(body: Anthropic.MessageCreateParams, window: number | undefined): string | undefined {
  if (window === undefined) return undefined;
  const tokens = inputTokensOf(stripCacheControl(body));
  return tokens > window ? `prompt is too long: ${tokens} tokens > ${window} maximum` : undefined;
}
