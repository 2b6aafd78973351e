import { z } from 'zod';

/**
 * The service's input limits, in one place (README "Input limits" lists the same numbers). Every
 * body is bounded while it streams in (413), then checked as JSON (400) before anything is stored.
 */
export const LIMITS = {
  /** Whole request body, Content-Length or counted bytes when chunked. */
  bodyBytes: 1024 * 1024,
  /** Objects/arrays nested deeper than this are refused (Postgres and JSON.stringify recurse). */
  jsonDepth: 32,
  /** Ids, names, tenant ids, identifiers, idempotency keys. */
  nameChars: 255,
  prompt: 100_000,
  /** Session metadata, as serialized JSON. */
  metadataBytes: 16 * 1024,
  /** A long-running agent's config, as serialized JSON. */
  configBytes: 64 * 1024,
} as const;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a parsed JSON body cannot be stored as it is, or null. Postgres refuses NUL in text and
 * jsonb and lone surrogates in jsonb (a 500 otherwise), `1e400` parses to Infinity which would be
 * stored as null, and deep nesting overflows recursive code further on. Iterative: a body nested
 * 500,000 deep must not overflow this check either.
 */
export function jsonProblem(value: unknown): string | null {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: 'body' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return `${short(path)}: ${problem}`;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${short(path)}: number out of range`;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= LIMITS.jsonDepth) return `${short(path)}: nested deeper than ${LIMITS.jsonDepth} levels`;
      for (const [k, child] of Object.entries(v)) {
        const problem = stringProblem(k);
        if (problem) return `${short(path)}: key ${problem}`;
        stack.push({ v: child, depth: depth + 1, path: path === 'body' ? k : `${path}.${k}` });
      }
    }
  }
  return null;
}

/** Error messages name the field, but never echo a megabyte of keys. */
function short(path: string): string {
  return path.length > 120 ? `${path.slice(0, 120)}…` : path;
}

function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate';
  return null;
}

/** A JSON object whose serialized size is at most maxBytes (UTF-8). */
export function boundedObject(maxBytes: number) {
  return z
    .record(z.string(), z.unknown())
    .refine((v) => Buffer.byteLength(JSON.stringify(v)) <= maxBytes, `must be at most ${maxBytes} bytes as JSON`);
}

export const name = () => z.string().min(1).max(LIMITS.nameChars);
