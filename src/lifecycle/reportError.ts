import { redactSecrets } from '../errors.js';
import type { Logger } from '../logger.js';

/** How a background failure is reported: the one signature every service of a client is given. */
export type ReportError = (err: unknown, context?: string) => void;

/**
 * An error for the pino `err` field (its serializer logs type, message, stack and own fields), so a
 * background failure can be traced to where it was thrown. A fresh Error carrying only name,
 * message, stack and code: message and stack go through redactSecrets, and other own fields of the
 * original (a driver's query parameters...) never reach a log line.
 */
export function errorForLog(err: unknown): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  const out = new Error(redactSecrets(error.message));
  out.name = error.name;
  out.stack = error.stack ? redactSecrets(error.stack) : undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') (out as Error & { code?: string }).code = code;
  return out;
}

/**
 * The client's reportError: logs a background failure with its stack (warn: the service carries
 * on), then hands it to config.onError. Never throws.
 */
export function createErrorReporter(logger: Logger, onError?: (err: Error) => void): ReportError {
  return (err, context) => {
    const error = err instanceof Error ? err : new Error(String(err));
    logger.warn({ err: errorForLog(error), context }, 'background error');
    try {
      onError?.(error);
    } catch {
      // A throwing onError must not take the client down.
    }
  };
}
