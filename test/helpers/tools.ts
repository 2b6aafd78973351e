import { z } from 'zod';
import { defineTool } from '../../src/index.js';

/** A tool whose every call throws `the tool exploded`: for a failing tool call. */
export function throwingTool(name: string) {
  return defineTool({
    name,
    description: 'Always throws.',
    inputSchema: z.object({}),
    execute() {
      throw new Error('the tool exploded');
    },
  });
}

/** A tool whose calls never return, so that its `timeoutMs` ends each one: for a timed-out tool call. */
export function hangingTool(name: string, timeoutMs: number) {
  return defineTool({
    name,
    description: 'Never returns.',
    inputSchema: z.object({}),
    timeoutMs,
    execute: () => new Promise(() => {}),
  });
}
