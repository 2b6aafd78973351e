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
    model: 'claude-sonnet-5-5',
    systemPrompt: 'You are a helpful assistant.',
    maxTokens: 1024,
  }),
  defineAgent({
    name: 'weather',
    description: 'Answers weather questions with the get_weather and get_time tools',
    model: 'claude-sonnet-5-5',
    systemPrompt: 'You answer questions about the weather. Use the tools; never guess.',
    maxTokens: 1024,
    tools: ['get_weather', 'get_time'],
  }),
];

/**
 * The watcher's config. The HTTP API refuses a config that fails it (400); the handler parses it
 * again because the CLI and the library write configs too: a bad one fails the handler (recorded as
 * its last error) instead of ticking, say, every -5 ms.
 */
export const watcherConfig = z.object({ intervalMs: z.number().int().min(100).max(86_400_000).optional() });

/** Config schemas of the example long-running kinds, by kind. */
export const exampleLongRunningConfigs: Record<string, z.ZodType> = { watcher: watcherConfig };

/** A long-running watcher: ticks every `intervalMs`, counting ticks in its checkpoint. */
export const exampleLongRunningKinds: LongRunningKind[] = [
  {
    kind: 'watcher',
    async handler(ctx) {
      const intervalMs = watcherConfig.parse(ctx.config ?? {}).intervalMs ?? 5000;
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
