import { z } from 'zod';

/** Starts the server as a child process and talks JSON-RPC over its stdin/stdout. */
export interface McpStdioTransportConfig {
  type: 'stdio';
  command: string;
  args?: string[];
  /**
   * Added to a minimal inherited environment (HOME, PATH, USER... as the SDK picks them). Every
   * value is treated as a secret: scrubbed from logs, errors and stored tool errors.
   */
  env?: Record<string, string>;
  cwd?: string;
}

/** A Streamable HTTP endpoint (`https://host/mcp`). */
export interface McpHttpTransportConfig {
  type: 'http';
  url: string;
  /** Sent with every request (`authorization`...). Every value is treated as a secret, like `env`. */
  headers?: Record<string, string>;
}

/** One MCP server whose tools this instance offers to its agents (`AgentPGConfig.mcpServers`). */
export interface McpServerConfig {
  /** 1-32 of [a-zA-Z0-9_-]; unique per client. Its tools are named `<name>__<tool>` by default. */
  name: string;
  transport: McpStdioTransportConfig | McpHttpTransportConfig;
  /** Which of the server's tools to offer, by the server's own names: `include` first, then `exclude`. */
  tools?: { include?: string[]; exclude?: string[] };
  /** Put before each tool's name. Default `<name>__`; '' keeps the server's names. */
  prefix?: string;
  /** Every call of this server's tools (true) or of the listed ones (server names) waits for a person's approval. */
  needsApproval?: boolean | string[];
  /** No decision within this long: denied. Default the tool default (24 h). */
  approvalTimeoutMs?: number;
  /** Per tool call, retries of a broken connection included. Default the client's `toolTimeoutMs`. */
  timeoutMs?: number;
  /**
   * How long start() keeps trying to connect and list the tools, and how long one connection
   * attempt (process start or HTTP, then the handshake) may take. Default 30 s.
   */
  startTimeoutMs?: number;
  /**
   * Unreachable at start(): false (default) fails start(); true starts without this server's
   * tools (agents that list them are then not run on this instance: capability routing).
   */
  optional?: boolean;
}

export const MCP_START_TIMEOUT_DEFAULT_MS = 30_000;

const SERVER_NAME = /^[a-zA-Z0-9_-]{1,32}$/;
const durationMs = z.number().int().positive();

const serverSchema = z
  .object({
    name: z.string().regex(SERVER_NAME, 'use 1-32 of [a-zA-Z0-9_-]'),
    transport: z.discriminatedUnion('type', [
      z
        .object({
          type: z.literal('stdio'),
          command: z.string().min(1),
          args: z.array(z.string()).optional(),
          env: z.record(z.string(), z.string()).optional(),
          cwd: z.string().min(1).optional(),
        })
        .strict(),
      z
        .object({
          type: z.literal('http'),
          url: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL'),
          headers: z.record(z.string(), z.string()).optional(),
        })
        .strict(),
    ]),
    tools: z
      .object({ include: z.array(z.string()).optional(), exclude: z.array(z.string()).optional() })
      .strict()
      .optional(),
    prefix: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{0,32}$/, 'use 0-32 of [a-zA-Z0-9_-]')
      .optional(),
    needsApproval: z.union([z.boolean(), z.array(z.string())]).optional(),
    approvalTimeoutMs: durationMs.optional(),
    timeoutMs: durationMs.optional(),
    startTimeoutMs: durationMs.optional(),
    optional: z.boolean().optional(),
  })
  .strict();

/** `mcpServers` in the client's config schema: checked before anything connects. */
export const mcpServersSchema = z
  .array(serverSchema)
  .refine((servers) => new Set(servers.map((s) => s.name)).size === servers.length, 'server names must be unique');

/** The prefix of a server's tool names. */
export function prefixOf(server: McpServerConfig): string {
  return server.prefix ?? `${server.name}__`;
}

/**
 * The values of the servers' env and headers: added to Runtime.secrets, so scrubSecrets removes
 * them. A header's credentials after its scheme too (`Bearer <token>`): a server that echoes the
 * token echoes it without the scheme.
 */
export function secretsOf(servers: readonly McpServerConfig[]): string[] {
  return servers.flatMap((s) => {
    if (s.transport.type === 'stdio') return Object.values(s.transport.env ?? {});
    return Object.values(s.transport.headers ?? {}).flatMap((value) => {
      const credentials = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(value)?.[1];
      return credentials ? [value, credentials] : [value];
    });
  });
}
