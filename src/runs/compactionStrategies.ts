import type Anthropic from '@anthropic-ai/sdk';
import type { CompactionStrategy } from './compactionTypes.js';

type Block = Record<string, any>;
type ParamMessage = Anthropic.MessageParam;

/** The summary message starts with this, so a reader (and the model) knows what it is. */
export const SUMMARY_HEADER =
  '[Summary of the earlier conversation, written at compaction; the original messages are archived]';

/** The summarizer's instructions, sent as its system prompt. */
export const SUMMARIZER_SYSTEM =
  'You compact long conversations. Summarize the conversation you are given so that an assistant ' +
  "reading only your summary can continue it: the user's goals and preferences, decisions made, " +
  'facts learned (from tool results too), open questions and work in progress. Be concise and ' +
  'specific; keep names, numbers and identifiers exactly.';

/** The last user turn of the summarizer's request. */
export const SUMMARIZE_INSTRUCTION = 'Summarize the conversation above, as instructed.';

/** The replacement a summary becomes: one user message. */
export function summaryMessages(summary: string): ParamMessage[] {
  return [{ role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\n\n${summary}` }] }];
}

/**
 * Tool outputs longer than `over` characters replaced by a note saying how long they were. Each
 * tool_result stays where it was, answering its tool_use: pairs are never split.
 */
export function pruneToolOutputs(messages: ParamMessage[], over: number): ParamMessage[] {
  return messages.map((m) => {
    if (m.role !== 'user' || typeof m.content === 'string') return m;
    let changed = false;
    const content = (m.content as Block[]).map((b) => {
      if (b.type !== 'tool_result') return b;
      const size = outputLength(b.content);
      if (size <= over) return b;
      changed = true;
      const note = `[tool output pruned at compaction: ${size} characters]`;
      return b.is_error
        ? { type: 'tool_result', tool_use_id: b.tool_use_id, content: note, is_error: true }
        : { type: 'tool_result', tool_use_id: b.tool_use_id, content: note };
    });
    return changed ? ({ role: m.role, content } as ParamMessage) : m;
  });
}

function outputLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  return content.reduce(
    (n, b: Block) => n + (typeof b?.text === 'string' ? b.text.length : JSON.stringify(b).length),
    0,
  );
}

/**
 * The messages without their oldest turns, as few dropped as needed to fit `maxTokens` (by
 * `estimate`): the summarizer's own request must fit its window, which only a session never
 * compacted before can exceed. Cut at the start of a turn (a user message without tool_result
 * blocks), so pairs stay intact; at least the last turn is kept.
 */
export function dropOldestTurns(
  messages: ParamMessage[],
  maxTokens: number,
  estimate: (m: ParamMessage[]) => number,
): ParamMessage[] {
  let out = messages;
  while (out.length > 1 && estimate(out) > maxTokens) {
    const next = out.findIndex((m, i) => i > 0 && m.role === 'user' && !hasToolResult(m));
    if (next <= 0) break;
    out = out.slice(next);
  }
  return out;
}

function hasToolResult(m: ParamMessage): boolean {
  return typeof m.content !== 'string' && (m.content as Block[]).some((b) => b.type === 'tool_result');
}

/** The default: prune old tool outputs; when that is not enough to reach the target, summarize. */
export const hybridStrategy: CompactionStrategy = {
  name: 'hybrid',
  async compact(input) {
    const pruned = input.pruneToolOutputs(input.messages);
    if (input.fixedTokens + input.estimateTokens(pruned) <= input.targetTokens) return pruned;
    return summaryMessages(await input.summarize(pruned));
  },
};

/** Always summarize (tool outputs pruned first, so the summarizer's own request stays small). */
export const summarizeStrategy: CompactionStrategy = {
  name: 'summarize',
  async compact(input) {
    return summaryMessages(await input.summarize(input.pruneToolOutputs(input.messages)));
  },
};

/** Only prune tool outputs (no model call); null when there is nothing to prune. */
export const pruneStrategy: CompactionStrategy = {
  name: 'prune',
  async compact(input) {
    const pruned = input.pruneToolOutputs(input.messages);
    return pruned.some((m, i) => m !== input.messages[i]) ? pruned : null;
  },
};
