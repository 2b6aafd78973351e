import { z } from 'zod';

/** What a tool's `execute` receives besides its input. */
export interface ToolContext {
  runId: string;
  sessionId: string;
  tenantId: string;
  agentName: string;
  /**
   * Stable across retries of the same call: the model's tool_use id. If the process died while the
   * tool was running, the call is made again with the same key, so a tool with side effects can
   * de-duplicate on it.
   */
  idempotencyKey: string;
  /** Aborted on cancel, timeout or shutdown. */
  signal: AbortSignal;
  /** 1 on the first execution, higher when a crash interrupted an earlier one. */
  attempt: number;
  /**
   * The run's context: the variables given at enqueue (`context` option), inherited by child runs.
   * Never sent to the model (unless a tool returns it). `{}` when none were given.
   */
  context: Readonly<Record<string, unknown>>;
}

/** What a tool name may be (the Messages API's rule): 1-64 of [a-zA-Z0-9_-]. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A zod schema, or a plain JSON Schema object for the input. */
export type ToolInputSchema = z.ZodType | Record<string, unknown>;

export interface ToolDefinition<I = any> {
  name: string;
  description: string;
  inputSchema: ToolInputSchema;
  /**
   * Return (or resolve to) a string, or anything JSON-serialisable. Throwing becomes an is_error
   * tool_result. Returning requestInput({ question }) asks the user instead (src/model/inputRequest.ts).
   */
  execute(input: I, ctx: ToolContext): unknown;
  metadata?: Record<string, unknown>;
  /** Per-call timeout for this tool; default the client's `toolTimeoutMs`. */
  timeoutMs?: number;
  /**
   * A person approves each call before it runs (or this function says which calls need it): the
   * run waits in `awaiting_input`, holding no worker, until client.approvals.decide() (or the SQL
   * function agentpg_decide_tool_call) records a decision. A throw counts as "needs approval".
   */
  needsApproval?: boolean | ((input: I, ctx: ApprovalContext) => boolean | Promise<boolean>);
  /** No decision within this long: denied with "timed out". Default DEFAULT_APPROVAL_TIMEOUT_MS. */
  approvalTimeoutMs?: number;
}

/** What a needsApproval function receives besides the input. */
export type ApprovalContext = Omit<ToolContext, 'signal' | 'attempt'>;

/** How long a tool call waits for approval when its tool sets no approvalTimeoutMs: 24 hours. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export function defineTool<S extends z.ZodType>(def: {
  name: string;
  description: string;
  inputSchema: S;
  execute(input: z.infer<S>, ctx: ToolContext): unknown;
  metadata?: Record<string, unknown>;
  timeoutMs?: number;
  needsApproval?: boolean | ((input: z.infer<S>, ctx: ApprovalContext) => boolean | Promise<boolean>);
  approvalTimeoutMs?: number;
}): ToolDefinition<z.infer<S>>;
export function defineTool<I = any>(def: ToolDefinition<I>): ToolDefinition<I>;
export function defineTool(def: ToolDefinition): ToolDefinition {
  return def;
}

export function isZodSchema(schema: ToolInputSchema): schema is z.ZodType {
  return schema instanceof z.ZodType;
}

/** The JSON Schema sent to the model and stored in agentpg_tools.input_schema. */
export function toJsonSchema(schema: ToolInputSchema): Record<string, unknown> {
  if (isZodSchema(schema)) {
    const json = z.toJSONSchema(schema) as Record<string, unknown>;
    delete json.$schema;
    return json;
  }
  return schema;
}

const validators = new WeakMap<object, z.ZodType | null>();

/**
 * Checks a tool's input against its schema before `execute` sees it: a zod schema parses it (and
 * its transforms/defaults apply); a JSON Schema is converted to zod once (`z.fromJSONSchema`). A
 * JSON Schema zod cannot convert is not enforced (the model was still given it).
 */
export function validateToolInput(
  tool: ToolDefinition,
  input: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  let schema = validators.get(tool);
  if (schema === undefined) {
    if (isZodSchema(tool.inputSchema)) schema = tool.inputSchema;
    else {
      try {
        schema = z.fromJSONSchema(tool.inputSchema);
      } catch {
        schema = null;
      }
    }
    validators.set(tool, schema);
  }
  if (!schema) return { ok: true, value: input };
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`)
    .join('; ');
  return { ok: false, message: `invalid input for tool "${tool.name}": ${issues}` };
}
