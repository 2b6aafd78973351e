import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/mcp/config.js';
import { isRetryableMcpError } from '../../src/runs/failures.js';

describe('MCP failures', () => {
  it('retries a call that failed on the way, not one the server answered', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(isRetryableMcpError(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'))).toBe(true);
    expect(isRetryableMcpError(new TypeError('fetch failed', { cause: refused }))).toBe(true);
    expect(isRetryableMcpError(new StreamableHTTPError(404, 'Session not found'))).toBe(true);
    expect(isRetryableMcpError(new StreamableHTTPError(503, 'unavailable'))).toBe(true);
    expect(isRetryableMcpError(new Error('Not connected'))).toBe(true);

    expect(isRetryableMcpError(new McpError(ErrorCode.InvalidParams, 'bad arguments'))).toBe(false);
    expect(isRetryableMcpError(new McpError(ErrorCode.RequestTimeout, 'Request timed out'))).toBe(false);
    expect(isRetryableMcpError(new StreamableHTTPError(401, 'unauthorized'))).toBe(false);
    expect(isRetryableMcpError(new Error('something else'))).toBe(false);
  });

  it('counts env and header values as secrets, and the credentials after an auth scheme', () => {
    expect(
      secretsOf([
        { name: 'a', transport: { type: 'stdio', command: 'x', env: { KEY: 'k-123456' } } },
        { name: 'b', transport: { type: 'http', url: 'http://h', headers: { authorization: 'Bearer t-987654' } } },
      ]),
    ).toEqual(['k-123456', 'Bearer t-987654', 't-987654']);
  });
});
