import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { BudgetExceededError } from '../costs/budgets.js';
import { scrubSecrets } from '../errors.js';
import { ModelCallError } from './modelCall.js';

/**
 * Retryable or permanent: the one place agentpg decides whether a failure is worth another try.
 * Two levels use it: a model call (modelCall.ts retries a retryable HTTP failure itself, with
 * backoff) and a run execution (executor.ts: a permanent failure fails the run once; anything else
 * hands the job back and the run resumes from its last commit, up to MAX_RUN_ATTEMPTS). Retrying a
 * permanent failure is not harmless: each attempt pays for the model call again and re-runs tools.
 */

/** HTTP statuses of the Messages API worth another attempt: timeouts, conflicts, 429, 5xx. */
export function isRetryableModelStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** A stream that broke mid-way with an SSE `error` event has no status: its type decides. */
export function isRetryableModelErrorType(errorType: string): boolean {
  return ['overloaded_error', 'api_error', 'rate_limit_error'].includes(errorType);
}

/**
 * [batch] A batch request's result that is not a message (src/batch/runCall.ts): `errored` with a
 * type worth another try (the same types as a broken stream: overloaded, api_error, rate limit),
 * `expired` (the batch's 24 h ran out) and `canceled` are tried again in a later batch (up to
 * batch.maxTries); any other errored type (invalid_request_error...) fails the run at once.
 */
export function isRetryableBatchResult(type: 'errored' | 'expired' | 'canceled', errorType?: string): boolean {
  if (type !== 'errored') return true;
  return errorType !== undefined && isRetryableModelErrorType(errorType);
}

/** Socket-level failures of a call that never got an answer. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

/**
 * An MCP tools/call that failed on the way rather than being answered: the connection closed (a
 * stdio server's process exited), was refused or reset (an HTTP server down or restarting), or an
 * HTTP server lost our session (404: restarted; the spec says to start a new session) or answered
 * 408/429/5xx. Worth another try on a new connection (src/mcp/call.ts). An answer is not: a
 * JSON-RPC error from the server (unknown tool, invalid params), another 4xx, a request timeout
 * (the call's own deadline). A tool-level error (a result with isError) is no error here at all:
 * it is the tool's answer, sent to the model as an is_error tool_result.
 */
export function isRetryableMcpError(err: unknown): boolean {
  if (err instanceof McpError) return err.code === (ErrorCode.ConnectionClosed as number);
  if (err instanceof StreamableHTTPError) {
    const status = err.code ?? 0;
    return status === 404 || status === 408 || status === 429 || status >= 500;
  }
  if (err instanceof Error && err.message === 'Not connected') return true;
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
  }
  return false;
}

/**
 * SQLSTATEs that say the data itself is wrong: the same statement fails the same way on every
 * attempt. Class 22 (data exception: 22P05 untranslatable character, 22021 invalid byte sequence,
 * 22P02 invalid text representation, 22001 value too long...), and the row checks 23502 (not null)
 * and 23514 (check). Not 23505 / 40001 / 40P01 (races) nor connection classes 08 / 57: retryable.
 */
function isPermanentSqlState(code: string): boolean {
  return code.startsWith('22') || code === '23502' || code === '23514';
}

export type RunFailure = { permanent: true; errorType: string; errorMessage: string } | { permanent: false };

/** What a run execution does with an error that is not an abort (cancel, shutdown, lost claim). */
export function classifyRunError(err: unknown, secrets: readonly string[] = []): RunFailure {
  if (err instanceof ModelCallError) return { permanent: true, errorType: err.errorType, errorMessage: err.message };
  // [costs] Another attempt would find the same spend: the run ends here, before the call.
  if (err instanceof BudgetExceededError)
    return { permanent: true, errorType: 'budget_exceeded', errorMessage: err.message };
  const code = sqlStateOf(err);
  if (code && isPermanentSqlState(code)) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      permanent: true,
      errorType: 'storage_error',
      errorMessage: scrubSecrets(`the database rejected the run's data (SQLSTATE ${code}): ${message}`, secrets).slice(
        0,
        2000,
      ),
    };
  }
  return { permanent: false };
}

/** The SQLSTATE of a pg error, also when wrapped (`cause`). */
function sqlStateOf(err: unknown): string | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}
