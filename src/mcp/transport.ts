import readline from 'node:readline';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpServerConfig } from './config.js';

/**
 * A new, unstarted transport for one connection attempt (a transport cannot be restarted: each
 * reconnect builds another; for stdio that spawns the server process again). A stdio server's
 * stderr goes to `onStderr` line by line (a pipe nobody reads would fill up and block the server).
 */
export function createTransport(server: McpServerConfig, onStderr: (line: string) => void): Transport {
  const t = server.transport;
  if (t.type === 'http') {
    return new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: { ...t.headers } } });
  }
  const transport = new StdioClientTransport({
    command: t.command,
    args: t.args,
    env: t.env,
    cwd: t.cwd,
    stderr: 'pipe',
  });
  // Available before start() (a PassThrough), so early output is not lost.
  const stderr = transport.stderr as NodeJS.ReadableStream | null;
  if (stderr) readline.createInterface({ input: stderr }).on('line', onStderr);
  return transport;
}
