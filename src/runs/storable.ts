/**
 * Text from outside agentpg (model output, tool output, error messages) made storable in
 * PostgreSQL. `text` and `jsonb` reject U+0000 (SQLSTATE 22021 / 22P05), and `jsonb` rejects a
 * lone UTF-16 surrogate (JSON.stringify writes it as `\udXXX`, 22P05): one such character would
 * make every attempt of a run fail the same way. Each is REPLACED with U+FFFD (the replacement
 * character), not dropped, so the stored text shows that something was there. The model sees the
 * same replaced text as the database holds (the transcript is rebuilt from stored rows).
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must not be stored
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** storableText over every string (object keys too) of a JSON-like value; a copy only where needed. */
export function storableValue<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storableValue) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storableText(k)] = storableValue(v);
    return out as T;
  }
  return value;
}
