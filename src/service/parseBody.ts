import type { Context } from 'hono';
import type { z } from 'zod';
import { HttpError } from './httpError.js';
import { jsonProblem } from './limits.js';

/**
 * The one reading of a JSON request body (the API's routes and the console's): not JSON, a value
 * outside the limits (limits.ts) or one the schema refuses is a 400 naming the field, before
 * anything is stored.
 */
export async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'body must be JSON');
  }
  const problem = jsonProblem(raw);
  if (problem) throw new HttpError(400, 'invalid_request_error', problem);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, 'invalid_request_error', describeIssue(parsed.error.issues[0]));
  return parsed.data;
}

export function describeIssue(issue: z.ZodIssue, prefix = ''): string {
  const path = [prefix, ...issue.path].filter((p) => p !== '').join('.');
  return `${path || 'body'}: ${issue.message}`;
}
