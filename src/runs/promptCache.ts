import type Anthropic from '@anthropic-ai/sdk';
import type { AgentCacheSettings, AgentDefinition } from '../model/agent.js';

type Block = Record<string, any>;
type Params = Anthropic.MessageCreateParamsNonStreaming;

const EPHEMERAL = { type: 'ephemeral' } as const;

/** An agent's breakpoint placement: `cache` true or left out means every breakpoint, false none. */
export function cacheSettingsOf(agent: AgentDefinition): Required<AgentCacheSettings> {
  const c = agent.cache ?? true;
  if (typeof c === 'boolean') return { tools: c, system: c, conversation: c };
  return { tools: c.tools ?? true, system: c.system ?? true, conversation: c.conversation ?? true };
}

/**
 * The request with prompt-cache breakpoints (`cache_control: { type: 'ephemeral' }`) where they pay
 * off. The API caches the prefix of a request (tools, then system, then messages) up to each
 * breakpoint, allows at most 4, and bills a prefix it has seen as cache reads (a tenth of the price):
 *   1. the last tool definition: the tool list, identical in every call of the agent;
 *   2. the system prompt (sent as one text block to carry the marker);
 *   3. the last block of the last message (the new prompt, or the latest tool results): writes the
 *      whole conversation, so the next call of this run, and the next run of the session, read it;
 *   4. the last block of the user turn before that one: the prefix the previous call wrote, so the
 *      next call finds it even when the turn in between has more blocks than the API looks back over
 *      (about 20) from breakpoint 3.
 * Returns new objects: the transcript the executor keeps is never changed.
 */
export function withCacheBreakpoints(params: Params, settings: Required<AgentCacheSettings>): Params {
  const out: Params = { ...params };
  if (settings.tools && params.tools && params.tools.length > 0) {
    const tools = [...params.tools];
    tools[tools.length - 1] = { ...tools[tools.length - 1], cache_control: EPHEMERAL };
    out.tools = tools;
  }
  if (settings.system && params.system !== undefined) {
    const blocks: Anthropic.TextBlockParam[] =
      typeof params.system === 'string' ? [{ type: 'text', text: params.system }] : [...params.system];
    if (blocks.length > 0) {
      blocks[blocks.length - 1] = { ...blocks[blocks.length - 1], cache_control: EPHEMERAL };
      out.system = blocks;
    }
  }
  if (settings.conversation && params.messages.length > 0) {
    const messages = [...params.messages];
    const last = messages.length - 1;
    messages[last] = markLastBlock(messages[last]);
    for (let i = last - 1; i >= 0; i--) {
      if (messages[i].role !== 'user') continue;
      messages[i] = markLastBlock(messages[i]);
      break;
    }
    out.messages = messages;
  }
  return out;
}

function markLastBlock(m: Anthropic.MessageParam): Anthropic.MessageParam {
  const blocks: Block[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : [...m.content];
  if (blocks.length === 0) return m;
  // Thinking blocks cannot carry cache_control; a user turn never ends with one anyway.
  const i = blocks.length - 1;
  if (blocks[i].type === 'thinking' || blocks[i].type === 'redacted_thinking') return m;
  blocks[i] = { ...blocks[i], cache_control: EPHEMERAL };
  return { ...m, content: blocks } as Anthropic.MessageParam;
}
