/**
 * The fake Messages API's prompt cache, shaped like the real one: the prefix of a request (tools,
 * then system, then messages, block by block) is cached up to each `cache_control` breakpoint. On a
 * later request, a breakpoint whose prefix — or a prefix ending at one of the ~20 block boundaries
 * before it — was written earlier is a hit. Usage is billed as the real API does:
 *   cache_read_input_tokens      the longest prefix found in the cache,
 *   cache_creation_input_tokens  from there to the last breakpoint (written now),
 *   input_tokens                 what follows the last breakpoint.
 * Tokens use the fake's estimate (script.ts: one token per four characters of the request's JSON);
 * the three add up to the request's uncached count. Entries live 5 minutes from their last use (the
 * `ephemeral` TTL). Unlike the real API there is no minimum cacheable length unless one is set.
 */
import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { inputTokensOf } from './script.js';

/** The real API's limit on `cache_control` blocks per request. */
export const MAX_CACHE_BREAKPOINTS = 4;
/** How many block boundaries before a breakpoint the API checks for an earlier cache entry. */
const LOOKBACK_BLOCKS = 20;
const TTL_MS = 5 * 60_000;
/** Expired entries are swept at most this often (a sweep per request would cost O(entries) each). */
const SWEEP_EVERY_MS = 60_000;

export interface CacheBilling {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

type Body = Partial<Anthropic.MessageCreateParams>;
type Block = Record<string, any>;

interface Segment {
  /** Hash of the whole prefix up to and including this block. */
  key: string;
  /** Estimated tokens of the prefix up to and including this block. */
  tokens: number;
  breakpoint: boolean;
}

export class FakePromptCache {
  private readonly entries = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly minCacheableTokens = 0) {}

  /** The number of breakpoints in a request (more than MAX_CACHE_BREAKPOINTS is a 400). */
  static breakpointsOf(body: Body): number {
    return segmentsOf(body).filter((s) => s.breakpoint).length;
  }

  /** Bills a request against the cache and writes its breakpoints' prefixes. */
  bill(body: Body, now = Date.now()): CacheBilling {
    const total = inputTokensOf(stripCacheControl(body));
    const segments = segmentsOf(body);
    const breakpoints = segments.map((s, i) => (s.breakpoint ? i : -1)).filter((i) => i >= 0);
    if (breakpoints.length === 0)
      return { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      for (const [key, expires] of this.entries) if (expires <= now) this.entries.delete(key);
    }

    // Hits are looked up before this request writes anything: its own breakpoints are creations.
    let read = 0;
    for (const b of breakpoints) {
      for (let j = b; j >= Math.max(0, b - LOOKBACK_BLOCKS); j--) {
        if ((this.entries.get(segments[j].key) ?? 0) <= now) continue;
        read = Math.max(read, segments[j].tokens);
        this.entries.set(segments[j].key, now + TTL_MS);
        break;
      }
    }
    // A prefix shorter than the minimum is not cached (the real API's is 1024+ tokens, by model).
    const cached = breakpoints.filter((b) => segments[b].tokens >= this.minCacheableTokens);
    if (cached.length === 0) return { input_tokens: total, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const cachedEnd = Math.min(total, segments[cached[cached.length - 1]].tokens);
    for (const b of cached) this.entries.set(segments[b].key, now + TTL_MS);
    read = Math.min(read, cachedEnd);
    return {
      input_tokens: total - cachedEnd,
      cache_creation_input_tokens: cachedEnd - read,
      cache_read_input_tokens: read,
    };
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * The request as the cache sees it: one segment per tool, system block and message content block,
 * in that order, each keyed by a hash chained over everything before it (the model too: caches are
 * per model). `cache_control` itself is not part of the key: adding a marker does not change a prefix.
 */
function segmentsOf(body: Body): Segment[] {
  const out: Segment[] = [];
  const hash = createHash('sha256').update(String(body.model ?? ''));
  let chars = 0;
  // `overhead`: characters of the request's JSON around the block (a message's role and brackets),
  // so the segments add up to about the request's uncached count.
  const add = (kind: string, block: Block, overhead = 1) => {
    const { cache_control, ...rest } = block;
    const text = JSON.stringify(rest);
    hash.update(`\u0000${kind}\u0000${text}`);
    chars += text.length + overhead;
    out.push({ key: hash.copy().digest('hex'), tokens: Math.floor(chars / 4), breakpoint: cache_control != null });
  };
  for (const tool of body.tools ?? []) add('tool', tool);
  const system = body.system;
  if (typeof system === 'string') add('system', { type: 'text', text: system });
  else for (const b of system ?? []) add('system', b);
  for (const m of body.messages ?? []) {
    const blocks: Block[] =
      typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as Block[]);
    // The first block of a message carries the role, so [user a][user b] differs from [user a, b].
    const wrapper = JSON.stringify({ role: m.role, content: [] }).length + 1;
    blocks.forEach((b, i) => (i === 0 ? add(`message:${m.role}`, b, wrapper) : add('block', b)));
  }
  return out;
}

/** The request without any `cache_control` (for its uncached token count). */
export function stripCacheControl(body: Body): Body {
  const strip = (b: Block) => {
    if (!b || typeof b !== 'object' || !('cache_control' in b)) return b;
    const { cache_control: _, ...rest } = b;
    return rest;
  };
  return {
    ...body,
    ...(Array.isArray(body.tools) ? { tools: body.tools.map((t) => strip(t as Block)) as Anthropic.ToolUnion[] } : {}),
    ...(Array.isArray(body.system) ? { system: body.system.map((b) => strip(b)) as Anthropic.TextBlockParam[] } : {}),
    ...(Array.isArray(body.messages)
      ? {
          messages: body.messages.map((m) =>
            Array.isArray(m.content) ? ({ ...m, content: m.content.map((b) => strip(b as Block)) } as typeof m) : m,
          ),
        }
      : {}),
  };
}
