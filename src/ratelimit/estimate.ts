import type Anthropic from '@anthropic-ai/sdk';

/**
 * What a call will take from the token buckets before it is made: input tokens estimated at one
 * per four characters of the request's content (the API tokenizes; an exact count would cost a
 * count_tokens call per model call), output tokens at max_tokens (the API reserves that much for
 * OTPM too). After the call the reservation is settled against the real usage.
 */
export function estimateCall(params: Anthropic.MessageCreateParamsNonStreaming): { input: number; output: number } {
  let chars = JSON.stringify(params.messages).length;
  if (params.system) chars += JSON.stringify(params.system).length;
  if (params.tools) chars += JSON.stringify(params.tools).length;
  return { input: Math.ceil(chars / 4), output: params.max_tokens };
}

/** Input tokens the API counts against ITPM: uncached input and cache writes (cache reads are free). */
export function countedInputTokens(usage: Anthropic.Usage | undefined): number | null {
  if (!usage) return null;
  return (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0);
}
