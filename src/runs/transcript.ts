import type Anthropic from '@anthropic-ai/sdk';
import type { NewMessage } from './sql/insertMessages.js';
import type { StoredMessage } from './types.js';
import type { ToolCallRow } from './sql/toolCalls.js';

type Block = Record<string, any>;
export type ParamMessage = Anthropic.MessageParam;

/** A turn of this run whose tool_use blocks have no stored tool_result message yet. */
export interface OpenTurn {
  messageId: string;
  toolUses: Array<{ id: string; name: string; input: unknown }>;
}

export interface RebuiltTranscript {
  /** The conversation so far, valid for the API (every tool_use answered, roles alternating). */
  messages: ParamMessage[];
  /** Set when the run stopped between storing a tool_use turn and storing its results. */
  openTurn: OpenTurn | null;
}

export function toolUsesOf(content: Block[]): Array<{ id: string; name: string; input: unknown }> {
  return content.filter((b) => b?.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input }));
}

export function textOf(content: Block[]): string {
  return content
    .filter((b) => b?.type === 'text')
    .map((b) => b.text as string)
    .join('');
}

/** A response content block as a request block: the fields the API accepts back, nothing more. */
export function toParamBlock(b: Block): Block {
  switch (b?.type) {
    case 'text':
      return b.citations ? { type: 'text', text: b.text, citations: b.citations } : { type: 'text', text: b.text };
    case 'tool_use':
      return { type: 'tool_use', id: b.id, name: b.name, input: b.input ?? {} };
    case 'thinking':
      return { type: 'thinking', thinking: b.thinking, signature: b.signature };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: b.data };
    default:
      return b;
  }
}

export function toolResultBlock(toolUseId: string, output: string, isError: boolean): Block {
  return isError
    ? { type: 'tool_result', tool_use_id: toolUseId, content: output, is_error: true }
    : { type: 'tool_result', tool_use_id: toolUseId, content: output };
}

/**
 * The messages that end a run, in order, so the stored transcript stays valid for the API: the
 * last turn's tool results not stored yet, answers for an open turn's calls (the result if there is
 * one, else `reason` as an error), the final messages, then error answers (`closeWith`) for
 * tool_use blocks of the final message that will never run.
 */
export function closingMessages(p: {
  pendingResults: Block[] | null;
  open: { uses: Array<{ id: string }>; results: Map<string, { output: string; isError: boolean }> } | null;
  final: NewMessage[];
  reason: string;
  closeWith?: string;
  trailingUses?: Array<{ id: string }>;
}): NewMessage[] {
  const all: NewMessage[] = p.pendingResults ? [{ role: 'user', content: p.pendingResults }] : [];
  const open = p.open;
  if (open) {
    all.push({
      role: 'user',
      content: open.uses.map((u) => {
        const r = open.results.get(u.id);
        return r ? toolResultBlock(u.id, r.output, r.isError) : toolResultBlock(u.id, p.reason, true);
      }),
    });
  }
  all.push(...p.final);
  if (p.trailingUses && p.trailingUses.length > 0 && p.closeWith) {
    all.push({ role: 'user', content: p.trailingUses.map((u) => toolResultBlock(u.id, p.closeWith!, true)) });
  }
  return all;
}

/**
 * Rebuilds the conversation of a session from agentpg_messages for a run being (re)started.
 * Every assistant tool_use must be answered by tool_result blocks at the start of the next user
 * message, or the API rejects the request. Stored transcripts satisfy that, except where a run
 * stopped mid-turn: for THIS run's last turn the results come from its tool call rows (or the calls
 * are still to execute: `openTurn`); for an older run that ended mid-turn, an is_error result says
 * so. Consecutive messages of one role are merged (a failed run can leave two user messages).
 */
export function rebuildTranscript(stored: StoredMessage[], runId: string, toolCalls: ToolCallRow[]): RebuiltTranscript {
  const out: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  let openTurn: OpenTurn | null = null;
  for (let i = 0; i < stored.length; i++) {
    const m = stored[i];
    const content = (Array.isArray(m.content) ? m.content : []).map(toParamBlock);
    push(out, m.role, content);
    if (m.role !== 'assistant') continue;
    const uses = toolUsesOf(content);
    if (uses.length === 0) continue;
    const next = stored[i + 1];
    const answered = new Set(
      next && next.role === 'user'
        ? next.content.filter((b: Block) => b?.type === 'tool_result').map((b: Block) => b.tool_use_id)
        : [],
    );
    const missing = uses.filter((u) => !answered.has(u.id));
    if (missing.length === 0) continue;
    if (!next && m.runId === runId) {
      // This run's last step: a tool_use turn whose results are not in a message yet.
      openTurn = { messageId: m.id, toolUses: uses };
      continue;
    }
    const byUse = new Map(toolCalls.filter((c) => c.messageId === m.id).map((c) => [c.toolUseId, c]));
    const synthesized = missing.map((u) => {
      const row = byUse.get(u.id);
      if (row && (row.state === 'succeeded' || row.state === 'failed'))
        return toolResultBlock(u.id, row.output ?? '', row.isError);
      return toolResultBlock(u.id, 'tool result unavailable: the run ended before this tool call finished', true);
    });
    // Merged into the next user message (tool_result blocks first), or a user message of their own.
    push(out, 'user', synthesized);
  }
  return { messages: out as ParamMessage[], openTurn };
}

function push(
  out: Array<{ role: 'user' | 'assistant'; content: Block[] }>,
  role: 'user' | 'assistant',
  content: Block[],
) {
  if (content.length === 0) return;
  const last = out[out.length - 1];
  if (last && last.role === role) {
    // tool_result blocks must lead a user message.
    const results = [...last.content, ...content].filter((b) => b.type === 'tool_result');
    const rest = [...last.content, ...content].filter((b) => b.type !== 'tool_result');
    last.content = role === 'user' ? [...results, ...rest] : [...last.content, ...content];
    return;
  }
  out.push({ role, content: [...content] });
}
