import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { backoffDelay, type BackoffOptions } from '../lifecycle/backoff.js';
import { sleep } from '../lifecycle/sleep.js';
import type { ToolContext } from '../model/tool.js';
import { isRetryableMcpError } from '../runs/failures.js';
import { messageOf, type McpConnection } from './connection.js';
import { resultText } from './result.js';

/** Between attempts of one call whose connection broke: from 100 ms up to 2 s. */
const CALL_RETRY_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 2_000 };

/**
 * The tool said it failed (a result with `isError`): its text becomes the is_error tool_result
 * (toolExec.ts turns a throw into one), and the run goes on.
 */
export class McpToolError extends Error {}

/**
 * Calls one MCP tool for a run and returns its text; throws for an is_error tool_result.
 *
 * A transport failure (isRetryableMcpError: the connection closed, was refused, the session was
 * lost) is retried on a new connection, with backoff, until shortly before `timeoutMs`; then it
 * becomes an is_error result that says the server was unreachable and why. Retrying is safe to
 * the same degree as agentpg's tool calls already are: a tool call is at-least-once (a crash while
 * it runs executes it again, ctx.idempotencyKey unchanged), and the key goes to the server as
 * `_meta["agentpg/idempotencyKey"]` so a server with side effects can de-duplicate. It is not
 * retried further (nor the run failed): an unreachable tool is something the model can work around
 * or report, and the run's other tools and turns still count. An answer from the server (a
 * JSON-RPC error) is not retried: asking again gets the same answer.
 */
export async function callMcpTool(
  conn: McpConnection,
  toolName: string,
  input: unknown,
  ctx: ToolContext,
  timeoutMs: number,
): Promise<string> {
  const started = Date.now();
  // Leave a margin before toolExec's own timer, so the reason (not a bare "timed out") reaches the model.
  const deadline = started + timeoutMs - Math.min(1_000, timeoutMs / 10);
  const server = conn.server.name;
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    let client: Client;
    try {
      client = await conn.get(AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, remaining))]));
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      // No `cause`: the original's message is unscrubbed (a server's secret), and this error is the answer.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(
        `MCP server "${server}" unreachable: ${conn.lastError ?? conn.scrub(messageOf(err))} (for ${Date.now() - started} ms)`,
      );
    }
    try {
      const result = await client.callTool(
        {
          name: toolName,
          arguments: (input ?? {}) as Record<string, unknown>,
          _meta: { 'agentpg/idempotencyKey': ctx.idempotencyKey },
        },
        undefined,
        { signal: ctx.signal, timeout: Math.max(1, deadline - Date.now()) },
      );
      const text = resultText(result);
      if (result.isError) throw new McpToolError(text || `MCP tool "${toolName}" failed`);
      return text;
    } catch (err) {
      if (err instanceof McpToolError || ctx.signal.aborted) throw err;
      const message = conn.scrub(messageOf(err));
      // Thrown without `cause` (below too): the original's message is unscrubbed.
      // eslint-disable-next-line preserve-caught-error
      if (!isRetryableMcpError(err)) throw new Error(`MCP server "${server}": ${message}`);
      conn.discard(client);
      const delayMs = backoffDelay(attempt, CALL_RETRY_BACKOFF);
      if (Date.now() + delayMs >= deadline)
        // eslint-disable-next-line preserve-caught-error
        throw new Error(
          `MCP server "${server}" unreachable: ${message} (${attempt} attempts in ${Date.now() - started} ms)`,
        );
      await sleep(delayMs, ctx.signal);
      ctx.signal.throwIfAborted();
    }
  }
}
