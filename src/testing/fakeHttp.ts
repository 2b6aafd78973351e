/**
 * The fake Messages API's HTTP plumbing (fakeAnthropic.ts): reading a request body, recording its
 * headers with the secrets redacted, waiting unless the client went away, and the API's JSON and
 * error responses with their `request-id`.
 */
import type http from 'node:http';
import { errorEnvelope, errorTypeFor, makeId, type FakeErrorReply } from './script.js';
import type { FakeRequest } from './fakeAnthropic.js';

const REDACTED = '[REDACTED]';
const SECRET_HEADERS = new Set(['x-api-key', 'authorization', 'proxy-authorization']);

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

export function redactHeaders(headers: http.IncomingHttpHeaders): FakeRequest['headers'] {
  const out: FakeRequest['headers'] = {};
  for (const key in headers) out[key] = SECRET_HEADERS.has(key) ? REDACTED : headers[key];
  return out;
}

/** Waits `ms`; resolves false early if the client closes the connection. */
export function waitUnlessClosed(ms: number, res: http.ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  payload: unknown,
  headers: http.OutgoingHttpHeaders = {},
  requestId = makeId('req'),
) {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': requestId,
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: http.ServerResponse,
  status: number,
  type: string,
  message: string,
  headers?: http.OutgoingHttpHeaders,
) {
  const requestId = makeId('req');
  sendJson(res, status, errorEnvelope(type, message, requestId), headers, requestId);
}

export function sendScriptedError(res: http.ServerResponse, e: FakeErrorReply['error']) {
  const [defaultType, defaultMessage] = errorTypeFor(e.status);
  const headers: http.OutgoingHttpHeaders = {};
  const retryAfter = e.retryAfterSeconds ?? (e.status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (e.retryAfterMs !== undefined) headers['retry-after-ms'] = String(e.retryAfterMs);
  if (e.shouldRetry !== undefined) headers['x-should-retry'] = String(e.shouldRetry);
  sendError(res, e.status, e.type ?? defaultType, e.message ?? defaultMessage, headers);
}
