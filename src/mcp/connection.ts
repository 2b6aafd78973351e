import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { AgentPGError, scrubSecrets } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../lifecycle/backoff.js';
import { sleep } from '../lifecycle/sleep.js';
import type { Logger } from '../logger.js';
import { MCP_START_TIMEOUT_DEFAULT_MS, type McpServerConfig } from './config.js';
import { createTransport } from './transport.js';

/** Between connection attempts: from 200 ms, doubling, up to 30 s (a server down for long is tried twice a minute). */
export const MCP_RECONNECT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 30_000 };

/** The connection was closed (the client stops): no call can use it any more. */
export class McpConnectionClosedError extends AgentPGError {
  constructor(server: string) {
    super('mcp_closed', `MCP server "${server}": connection closed (the client is stopping)`);
  }
}

export interface McpConnectionDeps {
  logger: Logger;
  /** Runtime.secrets: every text this connection logs or throws goes through scrubSecrets with them. */
  secrets: readonly string[];
  clientVersion: string;
}

/**
 * This instance's one connection to one MCP server, shared by every call of its tools. It connects
 * on first use and again after a loss, with backoff (MCP_RECONNECT_BACKOFF): a stdio server whose
 * process exited is noticed at once (the transport closes) and restarted in the background; an
 * HTTP server has no connection to lose between calls, so a call that fails on the way discards
 * the client (`discard`) and the next `get` opens a new session.
 */
export class McpConnection {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private closed = false;
  private readonly stopping = new AbortController();
  /** Ends the reconnect loop's current wait: a call is waiting for a connection (see get). */
  private nudge = new AbortController();
  /** The last connection failure, scrubbed: said in the error of a call that could not connect. */
  lastError: string | null = null;
  /** Connections opened so far (1 after the first, 2 after one reconnect...). */
  connects = 0;

  constructor(
    readonly server: McpServerConfig,
    private readonly deps: McpConnectionDeps,
  ) {}

  /** The connected client; connects first if there is none. Rejects when `signal` aborts first, or on close(). */
  get(signal?: AbortSignal): Promise<Client> {
    if (this.closed) return Promise.reject(new McpConnectionClosedError(this.server.name));
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) {
      // A call waits: try now rather than at the end of a backoff that may have grown to 30 s
      // while nobody needed the server. Calls retry with their own backoff, which bounds the rate.
      if (signal) this.nudge.abort();
    } else this.connecting = this.connectWithBackoff().finally(() => (this.connecting = null));
    return signal ? raceAbort(this.connecting, signal) : this.connecting;
  }

  /** Every tool the server lists (all pages). */
  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    const client = await this.get(signal);
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { signal });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /** A call found `client` broken: drop it (closing it quietly) so the next get() reconnects. */
  discard(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    void client.close().catch(() => {});
  }

  /** Stops reconnecting and closes the connection (a stdio server's process is ended). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => {});
  }

  scrub(text: string): string {
    return scrubSecrets(text, this.deps.secrets);
  }

  private async connectWithBackoff(): Promise<Client> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new McpConnectionClosedError(this.server.name);
      try {
        const client = await this.open();
        if (this.closed) {
          await client.close().catch(() => {});
          throw new McpConnectionClosedError(this.server.name);
        }
        this.client = client;
        this.connects++;
        this.lastError = null;
        if (this.connects > 1) this.deps.logger.info({ mcpServer: this.server.name }, 'MCP server reconnected');
        return client;
      } catch (err) {
        if (err instanceof McpConnectionClosedError) throw err;
        this.lastError = this.scrub(messageOf(err));
        const delayMs = Math.round(backoffDelay(attempt, MCP_RECONNECT_BACKOFF));
        this.deps.logger.warn(
          { mcpServer: this.server.name, attempt, delayMs, error: this.lastError },
          'MCP server connection failed; retrying',
        );
        this.nudge = new AbortController();
        await sleep(delayMs, AbortSignal.any([this.stopping.signal, this.nudge.signal]));
      }
    }
  }

  private async open(): Promise<Client> {
    const client = new Client({ name: 'agentpg', version: this.deps.clientVersion });
    const name = this.server.name;
    client.onerror = (err) =>
      this.deps.logger.debug({ mcpServer: name, error: this.scrub(err.message) }, 'MCP transport error');
    client.onclose = () => {
      // Not dropped by us (discard/close): the server went away (a stdio process exited).
      // Reconnect now, in the background, so the next call finds a connection.
      if (this.client !== client) return;
      this.client = null;
      if (this.closed) return;
      this.deps.logger.warn({ mcpServer: name }, 'MCP server connection lost; reconnecting');
      this.get().catch(() => {});
    };
    const transport = createTransport(this.server, (line) =>
      this.deps.logger.debug({ mcpServer: name, stderr: this.scrub(line) }, 'MCP server stderr'),
    );
    try {
      // One attempt (spawn or HTTP, then the initialize handshake) may take as long as the server is
      // given to come up at start: a stdio server started by `npx` can take long to load, and an
      // attempt cut short kills the process that was nearly ready.
      const timeout = this.server.startTimeoutMs ?? MCP_START_TIMEOUT_DEFAULT_MS;
      await client.connect(transport, { timeout, signal: this.stopping.signal });
      return client;
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
  }
}

/** An error's message; fetch's bare "fetch failed" with its cause (ECONNREFUSED...), which says what failed. */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && err.message === 'fetch failed') return `fetch failed: ${cause.message}`;
  return err.message || err.name;
}

/** `promise`, or a rejection with the signal's reason if it aborts first (the promise goes on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
