import { lastUserText, type FakeReply, type FakeRequest } from '../testing/index.js';

/**
 * How the offline fake model answers when no ANTHROPIC_API_KEY is set: it calls the weather tools
 * when the agent has them and the prompt asks about weather, then answers from the tool results.
 * Deterministic, so the demo and the tests see the same transcript.
 */
export function offlineResponder(request: FakeRequest): FakeReply {
  const body = request.body;
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  const toolNames = new Set((body.tools ?? []).map((t) => ('name' in t ? t.name : '')));
  const lastBlocks = Array.isArray(last?.content) ? last.content : [];
  const toolResults = lastBlocks.filter((b) => typeof b === 'object' && b && 'type' in b && b.type === 'tool_result');
  if (toolResults.length > 0) {
    const texts = toolResults.map((b) => {
      const c = (b as { content?: unknown }).content;
      return typeof c === 'string' ? c : JSON.stringify(c);
    });
    return { text: `(offline fake model) Here is what the tools said: ${texts.join('; ')}` };
  }
  const prompt = lastUserText(body);
  if (toolNames.has('get_weather') && /weather|temperature|forecast/i.test(prompt)) {
    const city = /in ([A-Z][a-zA-Z -]+)/.exec(prompt)?.[1]?.trim() ?? 'Paris';
    return { text: 'Let me check.', toolUses: [{ name: 'get_weather', input: { city } }] };
  }
  return { text: `(offline fake model) You said: ${prompt.slice(0, 200)}` };
}
