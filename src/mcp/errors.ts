import { AgentPGError } from '../errors.js';

/** start(): a server (not `optional`) could not be connected to and listed within its startTimeoutMs. */
export class McpUnavailableError extends AgentPGError {
  constructor(message: string) {
    super('mcp_unavailable', message);
  }
}
