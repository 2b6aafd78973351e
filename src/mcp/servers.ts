import type { Logger } from '../logger.js';
import type { ToolDefinition } from '../model/tool.js';
import { MCP_START_TIMEOUT_DEFAULT_MS, type McpServerConfig } from './config.js';
import { McpConnection } from './connection.js';
import { McpUnavailableError } from './errors.js';
import { mcpToolDefinitions } from './tools.js';

export interface McpServersDeps {
  logger: Logger;
  secrets: readonly string[];
  clientVersion: string;
  toolTimeoutMs: number;
}

/**
 * The MCP servers of one started client: one connection each, opened at start() (which lists their
 * tools once: the registry, and so capability routing, is fixed for the life of the instance) and
 * closed at stop(), after the runs drained.
 */
export class McpServers {
  private constructor(
    readonly connections: McpConnection[],
    /** The agent tools of every connected server, for Registry.setStartTools. */
    readonly tools: ToolDefinition[],
  ) {}

  /** Connects to every server at once and lists their tools; throws McpUnavailableError (all closed). */
  static async start(servers: readonly McpServerConfig[], deps: McpServersDeps): Promise<McpServers> {
    const results = await Promise.allSettled(servers.map((s) => connectAndList(s, deps)));
    const connected: Array<{ conn: McpConnection; tools: ToolDefinition[] }> = [];
    const failures: string[] = [];
    for (const r of results) {
      if (r.status === 'rejected') failures.push(r.reason instanceof Error ? r.reason.message : String(r.reason));
      else if (r.value) connected.push(r.value);
    }
    if (failures.length > 0) {
      await Promise.all(connected.map((c) => c.conn.close()));
      throw new McpUnavailableError(failures.join('; '));
    }
    return new McpServers(
      connected.map((c) => c.conn),
      connected.flatMap((c) => c.tools),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}

/** One server's connection and tools; null for an `optional` server that could not be reached. */
async function connectAndList(
  server: McpServerConfig,
  deps: McpServersDeps,
): Promise<{ conn: McpConnection; tools: ToolDefinition[] } | null> {
  const conn = new McpConnection(server, deps);
  const timeoutMs = server.startTimeoutMs ?? MCP_START_TIMEOUT_DEFAULT_MS;
  try {
    const listed = await conn.listTools(AbortSignal.timeout(timeoutMs));
    const tools = mcpToolDefinitions(conn, listed, deps, deps.logger);
    deps.logger.info({ mcpServer: server.name, tools: tools.map((t) => t.name) }, 'MCP server connected');
    return { conn, tools };
  } catch (err) {
    await conn.close();
    const why = conn.lastError ?? conn.scrub(err instanceof Error ? err.message : String(err));
    const message = `MCP server "${server.name}" unreachable within ${timeoutMs} ms: ${why}`;
    // No `cause`: the original's message is unscrubbed (it may carry an env or header value).
    // eslint-disable-next-line preserve-caught-error
    if (!server.optional) throw new Error(message);
    deps.logger.warn({ mcpServer: server.name }, `${message}; starting without its tools`);
    return null;
  }
}
