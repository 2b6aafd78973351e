/**
 * The Message Batches API of the fake (fakeAnthropic.ts), shaped like the real one:
 *
 * - `POST /v1/messages/batches` `{ requests: [{ custom_id, params }] }` → a `message_batch` object,
 *   `processing_status: 'in_progress'`. 1 to 100,000 requests; each custom_id 1-64 of
 *   [a-zA-Z0-9_-] and unique within the batch, else 400 invalid_request_error (nothing created).
 *   Params are validated per request, as the real API does asynchronously: an invalid one becomes an
 *   `errored` result, not a refused batch.
 * - `GET /v1/messages/batches/{id}` → the batch; it `ended` once `processingDelayMs` passed since
 *   creation (request_counts then tally succeeded/errored/canceled/expired, `results_url` is set).
 * - `GET /v1/messages/batches?limit&before_id&after_id` → `{ data, has_more, first_id, last_id }`,
 *   newest first.
 * - `GET /v1/messages/batches/{id}/results` → the `.jsonl` results (one
 *   `{ custom_id, result: { type, message | error } }` per line, not in request order); 404 before
 *   the batch ended.
 * - `POST /v1/messages/batches/{id}/cancel` → `canceling`; it ends at once, every request `canceled`.
 *
 * Each request's reply comes from the same script / responder / default as POST /v1/messages (its
 * FakeRequest has `batch: { batchId, customId }`), chosen when the batch is created; an error reply
 * becomes an `errored` result with the real error envelope, a drop an `api_error`.
 * `setBatchOutcome(fn)` makes chosen requests `expired` or `canceled` instead.
 */
import type http from 'node:http';
import type Anthropic from '@anthropic-ai/sdk';
import { errorEnvelope, errorTypeFor, makeId } from './script.js';

export const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_REQUESTS = 100_000;
const DAY_MS = 24 * 3600_000;

export type FakeBatchOutcome = 'expired' | 'canceled' | undefined;

/** Requests to the batch endpoints, by endpoint (every one counted, valid or not). */
export interface FakeBatchStats {
  create: number;
  retrieve: number;
  list: number;
  results: number;
  cancel: number;
}

/** One batch as the fake holds it. */
export interface FakeBatch {
  id: string;
  customIds: string[];
  createdAt: Date;
  cancelInitiatedAt: Date | null;
  /** Per custom id, the result line (computed at creation, served once the batch ended). */
  results: Map<string, Anthropic.Messages.MessageBatchResult>;
}

/** What a batch request's reply is computed with (the fake's own reply selection and message builder). */
export type BatchResultOf = (
  customId: string,
  params: Anthropic.MessageCreateParamsNonStreaming,
  batchId: string,
) => Promise<Anthropic.Messages.MessageBatchResult>;

export class FakeBatches {
  readonly stats: FakeBatchStats = { create: 0, retrieve: 0, list: 0, results: 0, cancel: 0 };
  /** Oldest first. */
  batches: FakeBatch[] = [];
  outcome: ((customId: string) => FakeBatchOutcome) | undefined;

  constructor(
    private readonly baseUrl: () => string,
    public processingDelayMs: number,
    private readonly resultOf: BatchResultOf,
  ) {}

  /** Every batch request counted: the API calls a batch-mode workload cost. */
  get totalRequests(): number {
    const s = this.stats;
    return s.create + s.retrieve + s.list + s.results + s.cancel;
  }

  reset(): void {
    this.batches = [];
    this.outcome = undefined;
    this.stats.create = this.stats.retrieve = this.stats.list = this.stats.results = this.stats.cancel = 0;
  }

  /** Answers a request under /v1/messages/batches; `body` is the parsed JSON of a POST. */
  async handle(method: string, path: string, query: URLSearchParams, body: unknown, res: http.ServerResponse) {
    const rest = path.slice('/v1/messages/batches'.length).split('/').filter(Boolean);
    if (method === 'POST' && rest.length === 0) return this.create(body, res);
    if (method === 'GET' && rest.length === 0) return this.list(query, res);
    const batch = this.batches.find((b) => b.id === rest[0]);
    if (method === 'GET' && rest.length === 1) {
      this.stats.retrieve++;
      return batch ? sendJson(res, 200, this.view(batch)) : notFound(res, rest[0]);
    }
    if (method === 'GET' && rest.length === 2 && rest[1] === 'results') {
      this.stats.results++;
      if (!batch) return notFound(res, rest[0]);
      if (!this.ended(batch)) return sendError(res, 404, 'not_found_error', `Batch ${batch.id} has not ended yet.`);
      return this.sendResults(batch, res);
    }
    if (method === 'POST' && rest.length === 2 && rest[1] === 'cancel') {
      this.stats.cancel++;
      if (!batch) return notFound(res, rest[0]);
      if (!this.ended(batch)) {
        batch.cancelInitiatedAt = new Date();
        for (const id of batch.customIds) batch.results.set(id, { type: 'canceled' });
      }
      return sendJson(res, 200, this.view(batch));
    }
    return sendError(res, 404, 'not_found_error', `Not found: ${method} ${path}`);
  }

  private async create(body: unknown, res: http.ServerResponse) {
    this.stats.create++;
    const requests = (body as { requests?: unknown } | null)?.requests;
    if (!Array.isArray(requests) || requests.length === 0)
      return sendError(res, 400, 'invalid_request_error', 'requests: List should have at least 1 item');
    if (requests.length > MAX_REQUESTS)
      return sendError(res, 400, 'invalid_request_error', `requests: List should have at most ${MAX_REQUESTS} items`);
    const seen = new Set<string>();
    for (const [i, r] of requests.entries()) {
      const id = (r as { custom_id?: unknown })?.custom_id;
      if (typeof id !== 'string' || !CUSTOM_ID.test(id))
        return sendError(
          res,
          400,
          'invalid_request_error',
          `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`,
        );
      if (seen.has(id))
        return sendError(res, 400, 'invalid_request_error', `requests.${i}.custom_id: duplicate custom_id ${id}`);
      seen.add(id);
    }
    const batch: FakeBatch = {
      id: makeId('msgbatch'),
      customIds: [...seen],
      createdAt: new Date(),
      cancelInitiatedAt: null,
      results: new Map(),
    };
    for (const r of requests as Array<{ custom_id: string; params: Anthropic.MessageCreateParamsNonStreaming }>) {
      const outcome = this.outcome?.(r.custom_id);
      batch.results.set(
        r.custom_id,
        outcome ? { type: outcome } : await this.resultOf(r.custom_id, r.params, batch.id),
      );
    }
    this.batches.push(batch);
    return sendJson(res, 200, this.view(batch));
  }

  private list(query: URLSearchParams, res: http.ServerResponse) {
    this.stats.list++;
    const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? 20) || 20));
    let newestFirst = [...this.batches].reverse();
    const after = query.get('after_id');
    const before = query.get('before_id');
    // Page ids as the real API pages them: after_id = older than it, before_id = newer than it.
    if (after) newestFirst = newestFirst.slice(newestFirst.findIndex((b) => b.id === after) + 1);
    if (before)
      newestFirst = newestFirst.slice(
        0,
        Math.max(
          0,
          newestFirst.findIndex((b) => b.id === before),
        ),
      );
    const page = newestFirst.slice(0, limit);
    return sendJson(res, 200, {
      data: page.map((b) => this.view(b)),
      has_more: newestFirst.length > page.length,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
    });
  }

  private ended(b: FakeBatch): boolean {
    return b.cancelInitiatedAt !== null || Date.now() - b.createdAt.getTime() >= this.processingDelayMs;
  }

  private view(b: FakeBatch): Anthropic.Messages.MessageBatch {
    const ended = this.ended(b);
    const endedAt = b.cancelInitiatedAt ?? new Date(b.createdAt.getTime() + this.processingDelayMs);
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (!ended) counts.processing = b.customIds.length;
    else for (const r of b.results.values()) counts[r.type]++;
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : 'in_progress',
      request_counts: counts,
      created_at: b.createdAt.toISOString(),
      expires_at: new Date(b.createdAt.getTime() + DAY_MS).toISOString(),
      ended_at: ended ? endedAt.toISOString() : null,
      archived_at: null,
      cancel_initiated_at: b.cancelInitiatedAt?.toISOString() ?? null,
      results_url: ended ? `${this.baseUrl()}/v1/messages/batches/${b.id}/results` : null,
    };
  }

  private sendResults(b: FakeBatch, res: http.ServerResponse) {
    // Not in request order, as the API warns: newest request first.
    const lines = [...b.customIds]
      .reverse()
      .map((id) => JSON.stringify({ custom_id: id, result: b.results.get(id) }))
      .join('\n');
    res.writeHead(200, { 'content-type': 'application/binary', 'request-id': makeId('req') });
    res.end(`${lines}\n`);
  }
}

/** The errored result of a scripted error reply: the API's error envelope. */
export function erroredResult(status: number, type?: string, message?: string): Anthropic.Messages.MessageBatchResult {
  const [t, m] = errorTypeFor(status);
  return { type: 'errored', error: errorEnvelope(type ?? t, message ?? m, makeId('req')) as Anthropic.ErrorResponse };
}

function sendJson(res: http.ServerResponse, status: number, payload: unknown) {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': makeId('req'),
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, type: string, message: string) {
  const requestId = makeId('req');
  const text = JSON.stringify(errorEnvelope(type, message, requestId));
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId });
  res.end(text);
}

function notFound(res: http.ServerResponse, id: string | undefined) {
  sendError(res, 404, 'not_found_error', `No message batch with id ${id}`);
}
