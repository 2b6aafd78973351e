import { z } from 'zod';
import { defineAgent } from '../model/agent.js';
import { defineTool } from '../model/tool.js';
import type { LongRunningKind } from '../ownership/types.js';

/**
 * The example agents, tools and long-running kind that `npm start` registers, so a fresh clone has
 * something to run. Replace them with your own in your service.
 */
export const exampleTools = [
  defineTool({
    name: 'get_weather',
    description: 'Current weather for a city (example data, deterministic).',
    inputSchema: z.object({ city: z.string().min(1).describe('City name, e.g. "Paris"') }),
    execute: ({ city }) => {
      const seed = [...city.toLowerCase()].reduce((a, c) => a + c.charCodeAt(0), 0);
      return { city, temperatureC: (seed % 30) - 5, conditions: ['sunny', 'cloudy', 'rainy', 'windy'][seed % 4] };
    },
  }),
  defineTool({
    name: 'get_time',
    description: 'The current UTC time as an ISO 8601 string.',
    inputSchema: z.object({}),
    execute: () => new Date().toISOString(),
  }),
];

export const exampleAgents = [
  defineAgent({
    name: 'chat',
    description: 'General purpose chat agent',
    model: 'claude-sonnet-4-5-20250929',
    systemPrompt: 'You are a helpful assistant.',
    maxTokens: 1024,
  }),
  defineAgent({
    name: 'weather',
    description: 'Answers weather questions with the get_weather and get_time tools',
    model: 'claude-sonnet-4-5-20250929',
    systemPrompt: 'You answer questions about the weather. Use the tools; never guess.',
    maxTokens: 1024,
    tools: ['get_weather', 'get_time'],
  }),
];

/** A long-running watcher: ticks every `intervalMs`, counting ticks in its checkpoint. */
export const exampleLongRunningKinds: LongRunningKind[] = [
  {
    kind: 'watcher',
    async handler(ctx) {
      const intervalMs = Number((ctx.config as { intervalMs?: number })?.intervalMs ?? 5000);
      let ticks = Number((ctx.checkpoint as { ticks?: number } | null)?.ticks ?? 0);
      while (!ctx.signal.aborted) {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, intervalMs);
          ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve(undefined)), { once: true });
        });
        if (ctx.signal.aborted) break;
        ticks += 1;
        await ctx.saveCheckpoint({ ticks, lastTickAt: new Date().toISOString() });
      }
    },
  },
];
