import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentHandle } from '../../src/index.js';
import type { McpStdioTransportConfig } from '../../src/mcp/config.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import type { TestDatabase } from './db.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** The stdio transport of the test MCP server (test/fixtures/mcp-stdio-server.ts): agentpg spawns it. */
export function stdioTestServer(token: string): McpStdioTransportConfig {
  return {
    type: 'stdio',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(FIXTURES, 'mcp-stdio-server.ts')],
    env: { MCP_TOKEN: token },
  };
}

export interface McpHttpServerProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>;
}

export interface StandbyMcpHttpServer {
  child: ChildProcess;
  /** Starts listening (in milliseconds: the process is loaded already). */
  listen(): Promise<McpHttpServerProcess>;
}

/**
 * Spawns test/fixtures/mcp-http-server.ts and waits until it has loaded, not yet listening (its
 * start-up takes seconds on a busy machine; a test that needs the server back at a given moment
 * calls listen() then).
 */
export async function standbyMcpHttpServer(token: string, port = 0): Promise<StandbyMcpHttpServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'mcp-http-server.ts')], {
    env: { ...process.env, PORT: String(port), MCP_TOKEN: token, DEFER_LISTEN: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: Array<(line: any) => void> = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => lines.shift()?.(JSON.parse(line)));
  const next = () =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('MCP HTTP server did not answer within 60 s')), 60_000);
      child.once('exit', (code) => reject(new Error(`MCP HTTP server exited (${code})`)));
      lines.push((line) => (clearTimeout(timer), resolve(line)));
    });
  await next(); // {"ready": true}
  return {
    child,
    async listen() {
      const listening = next();
      child.stdin.write('listen\n');
      const { port: bound } = (await listening) as { port: number };
      return {
        port: bound,
        url: `http://127.0.0.1:${bound}/mcp`,
        child,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    },
  };
}

/** Starts test/fixtures/mcp-http-server.ts in a child process (port 0: any free port) and waits until it listens. */
export async function startMcpHttpServer(token: string, port = 0): Promise<McpHttpServerProcess> {
  return await (await standbyMcpHttpServer(token, port)).listen();
}

/** A run of `agent` in which the model calls tool `name` once with `input` (tool_use `id`), then says `done`. */
export async function runWithToolCall(
  agent: AgentHandle,
  fake: FakeAnthropic,
  name: string,
  input: unknown,
  id: string,
) {
  fake.enqueue({ toolUses: [{ id, name, input }] }, { text: 'done' });
  const sessionId = await agent.newSession({ tenantId: 't', identifier: id });
  return await agent.run(sessionId, 'use the tool');
}

/** The stored tool call of a run with one. */
export async function toolCallOf(db: TestDatabase, runId: string) {
  const [call] = await db.query(
    `select tool_name, state, output, is_error, error_message from agentpg_tool_calls where run_id = $1`,
    [runId],
  );
  return call;
}
