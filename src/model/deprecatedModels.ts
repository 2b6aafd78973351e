import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { AgentDefinition } from './agent.js';

/**
 * The models the installed Anthropic SDK lists as deprecated, with their end-of-life date. The
 * SDK keeps that list in an internal module it does not export (internal/data/deprecated-models),
 * so it is read by file path next to the SDK's entry point; if a future SDK moves it, the list is
 * empty and nothing is warned (never an error at start-up).
 *
 * The SDK itself prints a plain-text console.warn on EVERY request with such a model (its
 * messages.create checks the list, with no option or logger to turn it off), which breaks
 * "logs are JSON"; agentpg instead warns once per agent, structured, when the agent is registered.
 */
export function deprecatedModels(): Readonly<Record<string, string>> {
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@anthropic-ai/sdk');
    const list = require(path.join(path.dirname(entry), 'internal', 'data', 'deprecated-models.js')) as {
      DEPRECATED_MODELS?: Record<string, string>;
    };
    return list.DEPRECATED_MODELS ?? {};
  } catch {
    return {};
  }
}

/** One structured warning per registered agent whose model is deprecated (client construction). */
export function warnDeprecatedModels(agents: Iterable<AgentDefinition>, logger: Logger): void {
  const deprecated = deprecatedModels();
  for (const agent of agents) {
    const endOfLife = Object.hasOwn(deprecated, agent.model) ? deprecated[agent.model] : undefined;
    if (endOfLife)
      logger.warn(
        { agent: agent.name, model: agent.model, endOfLife },
        `agent "${agent.name}" uses model ${agent.model}, deprecated (end of life ${endOfLife}): choose a current model`,
      );
  }
}
