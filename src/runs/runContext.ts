import { ValidationError } from '../errors.js';

/** The largest run context (its JSON), so a run row stays small and a claim stays cheap. */
export const MAX_RUN_CONTEXT_BYTES = 16 * 1024;

/**
 * Checks the `context` enqueue option: a JSON object of at most MAX_RUN_CONTEXT_BYTES, checked
 * before anything is written. Returns what is stored: null for none (or `{}`: no bytes in the row).
 */
export function validateRunContext(context: unknown): Record<string, unknown> | null {
  if (context === undefined || context === null) return null;
  if (typeof context !== 'object' || Array.isArray(context)) throw new ValidationError('context must be an object');
  let json: string;
  try {
    json = JSON.stringify(context);
  } catch {
    throw new ValidationError('context must be JSON-serialisable');
  }
  if (Buffer.byteLength(json) > MAX_RUN_CONTEXT_BYTES)
    throw new ValidationError(`context is larger than ${MAX_RUN_CONTEXT_BYTES} bytes (as JSON)`);
  const parsed = JSON.parse(json) as Record<string, unknown>;
  return Object.keys(parsed).length === 0 ? null : parsed;
}

/**
 * The context of a child run (agents as tools): the parent's, with the child's own variables (if
 * any) over it, checked like any context. The child enqueue stores this, so a tool of the child
 * sees what the parent's tools saw (ctx.context), and the model of neither sees it.
 */
export function inheritedContext(
  parent: { context: Record<string, unknown> | null | undefined },
  own?: Record<string, unknown>,
): Record<string, unknown> | null {
  return validateRunContext({ ...(parent.context ?? {}), ...(own ?? {}) });
}
