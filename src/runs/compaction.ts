import type Anthropic from '@anthropic-ai/sdk';
import { withTransaction } from '../db/connection.js';
import type { AgentDefinition } from '../model/agent.js';
import type { Runtime } from '../runtime.js';
import { compactionSettingsOf, type CompactionSettings } from './compactionSettings.js';
import {
  dropOldestTurns,
  hybridStrategy,
  pruneToolOutputs,
  SUMMARIZE_INSTRUCTION,
  SUMMARIZER_SYSTEM,
} from './compactionStrategies.js';
import type { Compaction } from './compactionTypes.js';
import { callModel } from './modelCall.js';
import { insertCompaction } from './sql/insertCompaction.js';
import { readLiveHistory, type LiveHistory } from './sql/liveHistory.js';
import { notifyStream } from './sql/notifyStream.js';
import type { ToolCallRow } from './sql/toolCalls.js';
import { storableValue } from './storable.js';
import type { StreamBuffer } from './streamBuffer.js';
import { toolParamsOf } from './toolParams.js';
import { rebuildTranscript, textOf, type ParamMessage } from './transcript.js';
import type { Run, StoredMessage } from './types.js';

type Block = Record<string, any>;
type StoredReplacement = Compaction['replacement'];

interface TokenRequest {
  model: string;
  messages: ParamMessage[];
  system?: string;
  tools?: Anthropic.Tool[];
}

/** What the executor hands over right before a model call (executor.ts loop). */
export interface CompactionContext {
  run: Run;
  /** The execution's claim (agentpg_runs.attempts): the compaction's fence. */
  attempt: number;
  agent: AgentDefinition;
  /** The conversation the next model call would send. */
  transcript: ParamMessage[];
  /** The last turn's tool_result blocks when not stored yet (the transcript's last message then). */
  pendingResults: Block[] | null;
  /** This run's tool calls as read at the claim (rebuildTranscript's input). */
  toolCalls: ToolCallRow[];
  signal: AbortSignal;
  stream: StreamBuffer;
}

export type CompactionOutcome = { transcript: ParamMessage[]; compaction: Compaction } | 'claim_lost' | null;

/**
 * The documented fallback estimate of a request's input tokens: one token per four characters of
 * its JSON (messages, system prompt, tools). The fake Messages API counts the same way.
 */
export function estimateRequestTokens(req: Omit<TokenRequest, 'model'>): number {
  let chars = JSON.stringify(req.messages).length;
  if (req.system !== undefined) chars += JSON.stringify(req.system).length;
  if (req.tools !== undefined && req.tools.length > 0) chars += JSON.stringify(req.tools).length;
  return Math.max(1, Math.ceil(chars / 4));
}

/**
 * The request's input tokens: the estimate while it is under half the trigger (no API call for a
 * short conversation), else the token-counting endpoint (POST /v1/messages/count_tokens), falling
 * back to the estimate if that call fails.
 */
async function countRequestTokens(
  rt: Runtime,
  req: TokenRequest,
  trigger: number,
  signal: AbortSignal,
): Promise<number> {
  const estimate = estimateRequestTokens(req);
  if (estimate < trigger / 2) return estimate;
  try {
    const counted = await rt.anthropic.messages.countTokens(
      {
        model: req.model,
        messages: req.messages,
        ...(req.system ? { system: req.system } : {}),
        ...(req.tools && req.tools.length > 0 ? { tools: req.tools } : {}),
      },
      { signal },
    );
    return counted.input_tokens;
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    rt.logger.warn({ err: (err as Error)?.message }, 'count_tokens failed; compaction uses the estimate');
    return estimate;
  }
}

/** A compaction's replacement as stored messages, ahead of the live ones (what the model sees). */
export function liveTranscriptMessages(history: LiveHistory | undefined): StoredMessage[] {
  if (!history) return [];
  return [...asStored(history.compaction?.replacement ?? []), ...history.messages];
}

function asStored(replacement: StoredReplacement): StoredMessage[] {
  return replacement.map((m) => ({
    id: '',
    seq: 0,
    runId: null,
    role: m.role,
    content: m.content,
    stopReason: null,
    inputTokens: 0,
    outputTokens: 0,
    createdAt: new Date(0),
  }));
}

/**
 * Where the kept tail starts: at least `keepLast` messages kept, and the first kept message opens
 * a turn (an assistant message, or a user message without tool_result blocks), so no tool_result is
 * ever separated from its tool_use. 0: nothing can be archived.
 */
export function cutIndex(messages: StoredMessage[], keepLast: number): number {
  let k = Math.max(0, messages.length - keepLast);
  while (k > 0 && !opensTurn(messages[k])) k--;
  return k;
}

function opensTurn(m: StoredMessage): boolean {
  return m.role === 'assistant' || !m.content.some((b: Block) => b?.type === 'tool_result');
}

/**
 * Compacts the run's session when the next model request would reach the agent's trigger
 * (compactionSettings.ts). Reads the live history (latest compaction + the messages since; bounded,
 * since it was under the window at the last call), archives all but the protected tail, lets the
 * strategy shrink the archived part (prune old tool outputs, then a summary by a model call), and
 * stores the result with ONE fenced statement (sql/insertCompaction.ts) together with the stream
 * event: durable at that transaction's COMMIT, step `compacted`. A crash before it leaves the old
 * history (the summarizer call is made again on resume, like any model call); after it, the next
 * pick-up reads the new one. Either, never a mix. The archived messages are never changed.
 * Returns the transcript to send, 'claim_lost' when the fence failed, null when nothing was done.
 */
export async function compactIfOverBudget(rt: Runtime, ctx: CompactionContext): Promise<CompactionOutcome> {
  const settings = compactionSettingsOf(ctx.agent);
  if (!settings) return null;
  const trigger = Math.floor(settings.contextWindowTokens * settings.triggerFraction);
  const base = {
    model: ctx.agent.model,
    ...(ctx.agent.systemPrompt ? { system: ctx.agent.systemPrompt } : {}),
    tools: toolParamsOf(rt, ctx.agent),
  };
  const tokensBefore = await countRequestTokens(rt, { ...base, messages: ctx.transcript }, trigger, ctx.signal);
  if (tokensBefore < trigger) return null;

  const started = Date.now();
  const { run } = ctx;
  const live = (await readLiveHistory(rt.pool, [run.sessionId])).get(run.sessionId)!;
  const cut = cutIndex(live.messages, settings.keepLastMessages);
  if (cut === 0) {
    rt.logger.warn({ runId: run.id, tokensBefore }, 'over the compaction trigger, but only the protected tail is left');
    return null;
  }
  const archived = live.messages.slice(0, cut);
  const tail = live.messages.slice(cut);
  const transcriptWith = (replacement: StoredReplacement): ParamMessage[] => {
    const messages = rebuildTranscript([...asStored(replacement), ...tail], run.id, ctx.toolCalls).messages;
    return ctx.pendingResults ? [...messages, { role: 'user', content: ctx.pendingResults as any }] : messages;
  };

  const summarizer = { model: null as string | null, inputTokens: 0, outputTokens: 0 };
  const strategy = settings.strategy ?? hybridStrategy;
  const replacement = await strategy.compact({
    // runId '' : a tool_use at the end of the archived part is answered, never left open.
    messages: rebuildTranscript([...asStored(live.compaction?.replacement ?? []), ...archived], '', []).messages,
    fixedTokens: estimateRequestTokens({ ...base, messages: transcriptWith([]) }),
    targetTokens: Math.floor(settings.contextWindowTokens * settings.targetFraction),
    estimateTokens: (messages) => estimateRequestTokens({ messages }),
    pruneToolOutputs: (messages) => pruneToolOutputs(messages, settings.pruneToolOutputsOver),
    summarize: (messages) => summarize(rt, settings, messages, ctx.signal, summarizer),
    signal: ctx.signal,
  });
  if (!replacement || replacement.length === 0) return null;
  if (replacement[0].role !== 'user' || replacement.some((m) => m.role !== 'user' && m.role !== 'assistant'))
    throw new Error(`compaction strategy "${strategy.name}" must return user/assistant messages, the first a user one`);
  const stored: StoredReplacement = storableValue(
    replacement.map((m) => ({
      role: m.role as 'user' | 'assistant',
      content: typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as unknown[]),
    })),
  );
  const transcript = transcriptWith(stored);
  const tokensAfter = await countRequestTokens(rt, { ...base, messages: transcript }, trigger, ctx.signal);
  const number = (live.compaction?.number ?? 0) + 1;
  const payload = ctx.stream.payloadFor({
    type: 'compaction',
    number,
    messagesArchived: archived.length,
    tokensBefore,
    tokensAfter,
    strategy: strategy.name,
  });
  // ONE transaction: the fenced INSERT and its stream event. Durable at COMMIT (step `compacted`).
  const compaction = await withTransaction(rt.pool, async (tx) => {
    const row = await insertCompaction(
      tx,
      {
        sessionId: run.sessionId,
        number,
        runId: run.id,
        throughSeq: archived[archived.length - 1].seq,
        replacement: stored,
        strategy: strategy.name.slice(0, 50),
        model: summarizer.model,
        messagesArchived: archived.length,
        tokensBefore,
        tokensAfter,
        inputTokens: summarizer.inputTokens,
        outputTokens: summarizer.outputTokens,
        durationMs: Date.now() - started,
      },
      { runId: run.id, attempt: ctx.attempt },
    );
    if (row) await notifyStream(tx, [payload]);
    return row;
  });
  if (!compaction) return 'claim_lost';
  if (tokensAfter >= trigger)
    rt.logger.warn({ runId: run.id, tokensAfter, trigger }, 'still over the compaction trigger after compacting');
  rt.logger.info(
    { runId: run.id, sessionId: run.sessionId, number, messagesArchived: archived.length, tokensBefore, tokensAfter },
    'session compacted',
  );
  return { transcript, compaction };
}

/** One summarizer call (the configured model, agentpg's retries); its usage is added to `acc`. */
async function summarize(
  rt: Runtime,
  settings: CompactionSettings,
  messages: ParamMessage[],
  signal: AbortSignal,
  acc: { model: string | null; inputTokens: number; outputTokens: number },
): Promise<string> {
  // Room for the instructions and the summary itself.
  const fitting = dropOldestTurns(
    messages,
    settings.contextWindowTokens * settings.triggerFraction - settings.summaryMaxTokens,
    (m) => estimateRequestTokens({ messages: m }),
  );
  if (fitting.length < messages.length)
    rt.logger.warn(
      { dropped: messages.length - fitting.length },
      'the oldest turns do not fit the summarizer: left out',
    );
  messages = fitting;
  const last = messages[messages.length - 1];
  const instruction = { type: 'text' as const, text: SUMMARIZE_INSTRUCTION };
  const request: ParamMessage[] =
    last?.role === 'user'
      ? [
          ...messages.slice(0, -1),
          {
            role: 'user',
            content: [
              ...(typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : last.content),
              instruction,
            ],
          },
        ]
      : [...messages, { role: 'user', content: [instruction] }];
  const message = storableValue(
    await callModel(
      rt.anthropic,
      { model: settings.model, max_tokens: settings.summaryMaxTokens, system: SUMMARIZER_SYSTEM, messages: request },
      { signal, secrets: rt.secrets },
    ),
  );
  acc.model = settings.model;
  acc.inputTokens += message.usage?.input_tokens ?? 0;
  acc.outputTokens += message.usage?.output_tokens ?? 0;
  return textOf(message.content).trim() || '(the summarizer returned no text)';
}
