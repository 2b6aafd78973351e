import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError } from './httpError.js';
import { LIMITS } from './limits.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cross-site requests: a web page may send a `text/plain` POST to any address without a CORS
 * preflight, so without a token such a page could enqueue runs. A browser always sends `Origin`
 * on cross-site writes: one that is neither this service's own origin nor listed is refused (403).
 * Clients that are not browsers send no Origin and are not affected.
 */
export function originGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowAll = allowedOrigins.includes('*');
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !allowAll && !allowedOrigins.includes(origin)) {
      const host = c.req.header('host');
      const own = host !== undefined && [`http://${host}`, `https://${host}`].includes(origin);
      if (!own) {
        throw new HttpError(
          403,
          'permission_error',
          `origin ${origin.slice(0, 200)} is not allowed (AGENTPG_ALLOWED_ORIGINS lists the allowed ones)`,
        );
      }
    }
    await next();
  };
}

/**
 * Writes must say `application/json`: the one content type a cross-site page cannot send unasked.
 * A DELETE without a body is let through: a browser never sends a cross-site DELETE without a CORS
 * preflight, and there is no body to read (`curl -X DELETE` sends no content type).
 */
export function jsonOnlyGuard(): MiddlewareHandler {
  return async (c, next) => {
    const length = c.req.header('content-length');
    const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
    if (WRITE_METHODS.has(c.req.method) && (c.req.method !== 'DELETE' || hasBody)) {
      const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') {
        throw new HttpError(415, 'unsupported_media_type_error', 'writes need content-type: application/json');
      }
    }
    await next();
  };
}

/**
 * Bounds every body before it is buffered: Content-Length over the limit is refused at once, a
 * chunked body as soon as the bytes counted while it streams pass the limit (node's parser already
 * stops a body at its Content-Length).
 */
export function sizeGuard(): MiddlewareHandler {
  return bodyLimit({
    maxSize: LIMITS.bodyBytes,
    onError: (c) => {
      // The rest of the body stays unread: close the connection rather than let a client reuse it.
      c.header('connection', 'close');
      return c.json(
        { error: { type: 'request_too_large', message: `request body over ${LIMITS.bodyBytes} bytes` } },
        413,
      );
    },
  });
}

/** True for addresses only this machine can reach (the exposure warning at start uses it). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
