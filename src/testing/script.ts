/**
 * Reply scripting for the fake Anthropic Messages API: the reply kinds a test can script, and how a
 * scripted reply becomes a Messages API `Message` (ids, content blocks, deterministic usage).
 */
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';

/** Token counts a reply may pin; anything left out is computed deterministically. */
export interface FakeUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

interface ReplyTiming {
  /** Delay before the response starts (overrides the server-wide `latencyMs`). Abortable by the client. */
  latencyMs?: number;
}

interface StreamTiming {
  /** Streaming only: delay between SSE frames (default 0: every frame goes out in one write). */
  chunkDelayMs?: number;
}

/** A plain assistant text reply. */
export interface FakeTextReply extends ReplyTiming, StreamTiming {
  text: string;
  usage?: FakeUsage;
  stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence';
  /** With `stopReason: 'stop_sequence'`: the matched sequence (default: the request's first `stop_sequences`). */
  stopSequence?: string;
}

export interface FakeToolUse {
  /** Default: `toolu_` + random. */
  id?: string;
  name: string;
  input: unknown;
}

/** An assistant turn that calls one or more tools (stop_reason `tool_use`), optionally prefaced by text. */
export interface FakeToolUseReply extends ReplyTiming, StreamTiming {
  toolUses: FakeToolUse[];
  text?: string;
  usage?: FakeUsage;
}

/** An HTTP error with the real API's JSON error envelope and a `request-id` header. */
export interface FakeErrorReply extends ReplyTiming {
  error: {
    status: number;
    /** Default derived from the status: 429 rate_limit_error, 529 overloaded_error, 500 api_error... */
    type?: string;
    message?: string;
    /** Sets `retry-after` (seconds). A 429 without it gets `retry-after: 1`, like the real API. */
    retryAfterSeconds?: number;
    /** Sets `retry-after-ms`, which the SDK prefers (handy for fast retry tests). */
    retryAfterMs?: number;
    /** Sets `x-should-retry: true|false`, which overrides the SDK's own retry decision. */
    shouldRetry?: boolean;
  };
}

/** Destroy the socket without responding (a dropped connection). */
export interface FakeDropReply extends ReplyTiming {
  drop: true;
}

export type FakeReply = FakeTextReply | FakeToolUseReply | FakeErrorReply | FakeDropReply;

export type FakeReplyKind = 'text' | 'tool_use' | 'error' | 'drop';

export function replyKind(reply: FakeReply): FakeReplyKind {
  if ('error' in reply) return 'error';
  if ('drop' in reply) return 'drop';
  if ('toolUses' in reply) return 'tool_use';
  return 'text';
}

const ERROR_TYPES: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Invalid request'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Billing error'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'Not found'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timed out'],
  529: ['overloaded_error', 'Overloaded'],
};

/** The error type and default message the real API uses for an HTTP status. */
export function errorTypeFor(status: number): [type: string, message: string] {
  return ERROR_TYPES[status] ?? (status >= 500 ? ERROR_TYPES[500] : ERROR_TYPES[400]);
}

/** The exact JSON error envelope of the real API. */
export function errorEnvelope(type: string, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A real-looking id such as `msg_01XFDUDYJgAACzvnptvVoYEL`. */
export function makeId(prefix: string): string {
  const bytes = randomBytes(22);
  let out = prefix + '_01';
  for (let i = 0; i < bytes.length; i++) out += BASE62[bytes[i] % 62];
  return out;
}

/** Rough, deterministic token estimate: one token per four characters, at least one. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/** Deterministic input token count of a request: what the model would read (system, tools, messages). */
export function inputTokensOf(body: Partial<Anthropic.MessageCreateParams>): number {
  let chars = JSON.stringify(body.messages ?? []).length;
  if (body.system !== undefined) chars += JSON.stringify(body.system).length;
  if (body.tools !== undefined) chars += JSON.stringify(body.tools).length;
  return estimateTokens(chars);
}

/** The text of the last user message (string content or its text blocks), '' if none. */
export function lastUserText(body: Partial<Anthropic.MessageCreateParams> | undefined): string {
  const messages = body?.messages;
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (!Array.isArray(m.content)) return '';
    return m.content
      .map((b) => (b && b.type === 'text' ? b.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

/** Builds the Messages API response for a text or tool-use reply, shaped exactly like the real API. */
export function buildMessage(
  reply: FakeTextReply | FakeToolUseReply,
  body: Partial<Anthropic.MessageCreateParams>,
  /** How the prompt cache billed the request's input (promptCache.ts); default: all uncached. */
  billed?: { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number },
): Anthropic.Message {
  const content: Anthropic.ContentBlock[] = [];
  let outputChars = 0;
  let stopReason: Anthropic.StopReason;
  let stopSequence: string | null = null;

  if ('toolUses' in reply) {
    if (reply.text) {
      content.push({ type: 'text', text: reply.text, citations: null });
      outputChars += reply.text.length;
    }
    for (const t of reply.toolUses) {
      content.push({
        type: 'tool_use',
        id: t.id ?? makeId('toolu'),
        name: t.name,
        input: t.input ?? {},
        caller: { type: 'direct' },
      });
      outputChars += t.name.length + JSON.stringify(t.input ?? {}).length;
    }
    stopReason = 'tool_use';
  } else {
    content.push({ type: 'text', text: reply.text, citations: null });
    outputChars += reply.text.length;
    stopReason = reply.stopReason ?? 'end_turn';
    if (stopReason === 'stop_sequence') {
      stopSequence = reply.stopSequence ?? body.stop_sequences?.[0] ?? null;
    }
  }

  const u = reply.usage ?? {};
  return {
    id: makeId('msg'),
    type: 'message',
    role: 'assistant',
    model: typeof body.model === 'string' ? body.model : 'claude-fake',
    content,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: u.input_tokens ?? billed?.input_tokens ?? inputTokensOf(body),
      cache_creation_input_tokens: u.cache_creation_input_tokens ?? billed?.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: u.cache_read_input_tokens ?? billed?.cache_read_input_tokens ?? 0,
      cache_creation: {
        ephemeral_5m_input_tokens: u.cache_creation_input_tokens ?? billed?.cache_creation_input_tokens ?? 0,
        ephemeral_1h_input_tokens: 0,
      },
      output_tokens: u.output_tokens ?? estimateTokens(outputChars),
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: 'standard',
      inference_geo: null,
      speed: null,
    },
  };
}
