import { validateToolInput, type ToolContext, type ToolDefinition } from '../model/tool.js';

export interface ToolOutcome {
  isError: boolean;
  /** The tool_result content sent back to the model. */
  output: string;
  /** For the row's error_message column (null on success). */
  errorMessage: string | null;
  durationMs: number;
}

class ToolTimeoutError extends Error {}

/**
 * Runs one tool call and never throws: unknown tool, schema-invalid input, a throw, or a timeout
 * all become an `is_error` result for the model (the run goes on). `ctx.signal` aborts on cancel,
 * shutdown or timeout; a tool that ignores it is abandoned at the timeout (its late result is
 * dropped).
 */
export async function executeTool(
  tool: ToolDefinition | undefined,
  toolName: string,
  input: unknown,
  ctx: Omit<ToolContext, 'signal'> & { signal: AbortSignal },
  timeoutMs: number,
): Promise<ToolOutcome> {
  const started = performance.now();
  const done = (isError: boolean, output: string): ToolOutcome => ({
    isError,
    output,
    errorMessage: isError ? output : null,
    durationMs: Math.round(performance.now() - started),
  });
  if (!tool) return done(true, `unknown tool "${toolName}": this agent has no such tool`);
  const valid = validateToolInput(tool, input);
  if (!valid.ok) return done(true, valid.message);

  const limit = tool.timeoutMs ?? timeoutMs;
  const timeout = new AbortController();
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  let timer: NodeJS.Timeout | undefined;
  try {
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
    return done(false, stringify(result));
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    const message = err instanceof Error ? err.message || err.name : String(err);
    return done(true, message || 'tool failed');
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
    return String(result);
  }
}
