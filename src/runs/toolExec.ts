import { inspect } from 'node:util';
import { scrubSecrets } from '../errors.js';
import { storableText } from './storable.js';
import { validateToolInput, type ToolContext, type ToolDefinition } from '../model/tool.js';
import { isInputRequest, type InputRequest } from '../model/inputRequest.js';

export interface ToolOutcome {
  isError: boolean;
  /** The tool_result content sent back to the model. */
  output: string;
  /** Why it failed, low-cardinality (the tool span's error.type): unknown_tool, invalid_input, timeout, tool_error. */
  errorType: string | null;
  /** For the row's error_message column (null on success). */
  errorMessage: string | null;
  durationMs: number;
  /** The tool returned requestInput(): the call waits for the user's answer (output is empty). */
  inputRequest?: InputRequest;
}

class ToolTimeoutError extends Error {}

/**
 * Runs one tool call and never throws: unknown tool, schema-invalid input, a throw, or a timeout
 * all become an `is_error` result for the model (the run goes on). `ctx.signal` aborts on cancel,
 * shutdown or timeout; a tool that ignores it is abandoned at the timeout (its late result is
 * dropped). A tool's error message goes through scrubSecrets (`secrets`: Runtime.secrets) before it is
 * stored, streamed, logged or sent to the model: tools report whatever their libraries threw, and
 * a driver's message can carry a connection string or a key.
 */
export async function executeTool(
  tool: ToolDefinition | undefined,
  toolName: string,
  input: unknown,
  ctx: Omit<ToolContext, 'signal'> & { signal: AbortSignal },
  timeoutMs: number,
  secrets: readonly string[] = [],
): Promise<ToolOutcome> {
  const started = performance.now();
  const done = (errorType: string | null, raw: string): ToolOutcome => {
    // Stored, streamed and sent to the model: made storable once, here (storable.ts).
    const output = storableText(raw);
    const isError = errorType !== null;
    return {
      isError,
      output,
      errorType,
      errorMessage: isError ? output : null,
      durationMs: Math.round(performance.now() - started),
    };
  };
  if (!tool) return done('unknown_tool', `unknown tool "${toolName}": this agent has no such tool`);
  const valid = validateToolInput(tool, input);
  if (!valid.ok) return done('invalid_input', valid.message);

  const limit = tool.timeoutMs ?? timeoutMs;
  const timeout = new AbortController();
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  let timer: NodeJS.Timeout | undefined;
  try {
    // Never invoked once the execution was aborted: a worker that lost its claim (a survivor may
    // have stored this call's result already) must not start the tool again. A stalled worker
    // (SIGSTOP) comes back with its lease lost and the call already past its fenced start.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const result = await Promise.race([
      Promise.resolve().then(() => tool.execute(valid.value, { ...ctx, signal })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timeout.abort(new ToolTimeoutError(`tool "${toolName}" timed out after ${limit} ms`));
          reject(timeout.signal.reason);
        }, limit);
      }),
      new Promise<never>((_, reject) => {
        if (ctx.signal.aborted) reject(ctx.signal.reason);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      }),
    ]);
    if (isInputRequest(result)) return { ...done(null, ''), inputRequest: result };
    return done(null, stringify(result));
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    const message = err instanceof Error ? err.message || err.name : String(err);
    return done(
      err instanceof ToolTimeoutError ? 'timeout' : 'tool_error',
      scrubSecrets(message, secrets) || 'tool failed',
    );
  } finally {
    clearTimeout(timer);
  }
}

function stringify(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined || result === null) return '';
  try {
    return JSON.stringify(result);
  } catch {
    // Not JSON (a cycle, a BigInt): inspect shows the content where String() would give '[object Object]'.
    return inspect(result, { depth: 4 });
  }
}
