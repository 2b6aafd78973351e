import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../logger.js';
import { TOOL_NAME, type ToolDefinition } from '../model/tool.js';
import { callMcpTool } from './call.js';
import { prefixOf } from './config.js';
import type { McpConnection } from './connection.js';

/**
 * The agent tools of one MCP server: the listed tools its `tools` filter keeps (`include` first,
 * then `exclude`, by the server's names), each named `prefix + name` and executed through the
 * server's connection. They go into the registry like code tools, so capability routing and
 * agentpg_instance_tools see them. A tool whose prefixed name is not a valid tool name is left out
 * with a warning (the Messages API would refuse every request that offered it).
 */
export function mcpToolDefinitions(
  conn: McpConnection,
  listed: Tool[],
  defaults: { toolTimeoutMs: number },
  logger: Logger,
): ToolDefinition[] {
  const server = conn.server;
  const include = server.tools?.include ? new Set(server.tools.include) : null;
  const exclude = new Set(server.tools?.exclude ?? []);
  const approval = server.needsApproval;
  const timeoutMs = server.timeoutMs ?? defaults.toolTimeoutMs;
  const tools: ToolDefinition[] = [];
  for (const t of listed) {
    if ((include && !include.has(t.name)) || exclude.has(t.name)) continue;
    const name = prefixOf(server) + t.name;
    if (!TOOL_NAME.test(name)) {
      logger.warn({ mcpServer: server.name, tool: t.name }, `MCP tool "${name}" left out: use 1-64 of [a-zA-Z0-9_-]`);
      continue;
    }
    const { $schema: _, ...inputSchema } = t.inputSchema as Record<string, unknown>;
    tools.push({
      name,
      description: t.description ?? t.title ?? '',
      inputSchema,
      metadata: { mcpServer: server.name, mcpTool: t.name },
      timeoutMs,
      ...(approval === true || (Array.isArray(approval) && approval.includes(t.name)) ? { needsApproval: true } : {}),
      ...(server.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: server.approvalTimeoutMs } : {}),
      execute: (input, ctx) => callMcpTool(conn, t.name, input, ctx, timeoutMs),
    });
  }
  for (const wanted of include ?? []) {
    if (!listed.some((t) => t.name === wanted))
      logger.warn({ mcpServer: server.name, tool: wanted }, `MCP server "${server.name}" lists no tool "${wanted}"`);
  }
  return tools;
}
