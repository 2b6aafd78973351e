import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { scrubSecrets } from '../errors.js';
import { ATTR, PROVIDER, SPAN } from './attributes.js';
import type { Runtime } from '../runtime.js';
import { setRunTraceParent } from './sql/setRunTraceParent.js';
import { contextOfTraceParent, formatTraceParent } from './traceParent.js';
import { tracer } from './tracer.js';

/** What a run's execution span needs to know of the run (a subset of Run). */
export interface TracedRun {
  id: string;
  sessionId: string;
  tenantId: string;
  agentName: string;
  /** This execution's claim number (agentpg_runs.attempts after the claim). */
  attempts: number;
  traceParent: string | null;
}

/** The fields of a Messages API response a model call span reads. */
interface ModelResponse {
  id?: string;
  model?: string;
  stop_reason?: string | null;
  usage?: {
    input_tokens?: number | null;
    output_tokens?: number | null;
    cache_read_input_tokens?: number | null;
    cache_creation_input_tokens?: number | null;
  } | null;
}

interface ModelParams {
  model: string;
  max_tokens?: number;
  temperature?: number;
}

/** What the batched call's span reads of its stored request (src/batch/sql/latestRequest.ts). */
interface BatchedRequest {
  customId: string;
  try: number;
  batchId: string | null;
  createdAt: Date;
  endedAt: Date | null;
}

interface RetryInfo {
  attempt: number;
  delayMs: number;
  status: number | null;
  errorType: string;
}

/** What the tool span reads of a tool call's context (ToolContext) and of its outcome (ToolOutcome). */
interface ToolCallInfo {
  /** The tool_use id. */
  idempotencyKey: string;
  attempt: number;
}

interface ToolOutcomeLike {
  isError: boolean;
  errorType?: string | null;
  durationMs: number;
}

interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

/**
 * The spans of one execution of a run: `invoke_agent <agent>` for the execution, with a
 * `chat <model>` child per model call and an `execute_tool <tool>` child per tool call. The
 * execution span's parent is the run's stored traceparent (written by the enqueue, see
 * enqueueSpan.ts, or by the run's first traced execution), so every execution of the run, on
 * whichever instance, joins the same trace.
 *
 * With no OpenTelemetry SDK registered every span is the API's non-recording span: nothing is
 * exported or written, and beyond the execution span's few start attributes no attribute is built
 * (isRecording() guards them).
 */
export class RunTrace {
  private readonly span: Span;
  private readonly ctx: Context;
  private readonly recording: boolean;
  /** run, session, tenant, agent and attempt: on every span of the execution, to filter by. */
  private readonly common: Attributes;
  private readonly usage: Usage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };

  constructor(
    private readonly run: TracedRun,
    private readonly rt: Pick<Runtime, 'instanceId' | 'secrets' | 'pool' | 'reportError'>,
    model: string | undefined,
  ) {
    const parent = contextOfTraceParent(run.traceParent);
    this.common = {
      [ATTR.runId]: run.id,
      [ATTR.sessionId]: run.sessionId,
      [ATTR.tenantId]: run.tenantId,
      [ATTR.agentName]: run.agentName,
      [ATTR.runAttempt]: run.attempts,
    };
    // Attributes given at the start (samplers and processors' onStart see them), built once per
    // execution; the children's only when this span records.
    const attributes: Attributes = {
      ...this.common,
      [ATTR.operationName]: 'invoke_agent',
      [ATTR.system]: PROVIDER,
      [ATTR.providerName]: PROVIDER,
      [ATTR.conversationId]: run.sessionId,
      [ATTR.instanceId]: rt.instanceId,
      ...(model ? { [ATTR.requestModel]: model } : {}),
    };
    this.span = tracer().startSpan(SPAN.run(run.agentName), { kind: SpanKind.INTERNAL, attributes }, parent);
    this.ctx = trace.setSpan(parent, this.span);
    this.recording = this.span.isRecording();
  }

  /**
   * Runs the execution inside the execution span's context (so spans of a database or HTTP
   * instrumentation nest under it) and ends the span with the outcome and the execution's tokens.
   */
  async execution<T extends string>(fn: () => Promise<T>): Promise<T> {
    try {
      if (this.recording && this.run.traceParent === null) await this.storeOwnContext();
      const outcome = await context.with(this.ctx, fn);
      if (this.recording) this.span.setAttribute(ATTR.runOutcome, outcome);
      return outcome;
    } catch (err) {
      this.error(err);
      throw err;
    } finally {
      if (this.recording) this.span.setAttributes(usageAttributes(this.usage));
      this.span.end();
    }
  }

  /**
   * A run enqueued with no trace context (plain SQL, an instance without an SDK) gets this
   * execution's: later executions then join this trace instead of each starting one. Durable at
   * its autocommit UPDATE; a crash before it leaves the next execution to store its own. Not a
   * run step (no progress) and not fenced (it only fills an empty column); a failure is reported,
   * never fails the run.
   */
  private async storeOwnContext(): Promise<void> {
    const own = formatTraceParent(this.span.spanContext());
    if (own === null) return;
    try {
      await setRunTraceParent(this.rt.pool, this.run.id, own);
    } catch (err) {
      this.rt.reportError(err, `run ${this.run.id} trace context`);
    }
  }

  /** The run was finalized by this execution (the finalize transaction committed). */
  finalized(state: string, f: { errorType?: string | null; stopReason?: string | null }): void {
    if (!this.recording) return;
    this.span.setAttribute(ATTR.runState, state);
    if (f.stopReason) this.span.setAttribute(ATTR.runStopReason, f.stopReason);
    if (f.errorType) {
      this.span.setAttribute(ATTR.errorType, f.errorType);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: f.errorType });
    }
  }

  /** The execution ended on an error it did not finalize (handed back, claim lost). */
  error(err: unknown): void {
    if (this.recording) markError(this.span, err, this.rt.secrets);
  }

  /**
   * `callModel` wrapped: each call is a `chat <model>` span, the call runs inside its context
   * (an HTTP instrumentation's span nests under it), and each retry the call reports through
   * `opts.onRetry` becomes an event of the span.
   */
  modelCall<C, P extends ModelParams, O extends { onRetry?: (info: RetryInfo) => void }, R extends ModelResponse>(
    fn: (client: C, params: P, opts: O) => Promise<R>,
  ): (client: C, params: P, opts: O) => Promise<R> {
    return async (client, params, opts) => {
      const attributes = this.recording ? this.chatAttributes(params) : undefined;
      const span = tracer().startSpan(SPAN.modelCall(params.model), { kind: SpanKind.CLIENT, attributes }, this.ctx);
      const recording = span.isRecording();
      let retries = 0;
      const onRetry = (info: RetryInfo) => {
        retries++;
        if (recording)
          span.addEvent('agentpg.model_call.retry', {
            'agentpg.model_call.attempt': info.attempt,
            'agentpg.model_call.delay_ms': info.delayMs,
            [ATTR.errorType]: info.errorType,
            ...(info.status !== null ? { 'http.response.status_code': info.status } : {}),
          });
        opts.onRetry?.(info);
      };
      try {
        const message = await context.with(trace.setSpan(this.ctx, span), () =>
          fn(client, params, { ...opts, onRetry }),
        );
        this.addUsage(usageOf(message));
        if (recording) span.setAttributes(responseAttributes(message));
        return message;
      } catch (err) {
        if (recording) markError(span, err, this.rt.secrets);
        throw err;
      } finally {
        if (recording) span.setAttribute(ATTR.modelRetries, retries);
        span.end();
      }
    };
  }

  /**
   * [batch] A model call made through the Message Batches API (src/batch/runCall.ts), recorded by
   * the execution that applies its stored result (or fails on it): a `chat <model>` span like
   * `modelCall`'s, child of this execution's span, but timed from the request's storage (the
   * `batch_requested` of an earlier execution) to its result's storage by the poll pass, since the
   * call was made meanwhile by no execution at all. Plus `agentpg.model_call.batch`, the batch's id
   * and the request's custom id; `agentpg.model_call.retries` counts the tries sent after the
   * first (errored, expired or canceled results sent again). Its tokens count in this execution's,
   * as this execution stores them. An execution that dies before its next step records it again
   * on resume (the result is applied again, not the call made again).
   */
  batchedModelCall(params: ModelParams, request: BatchedRequest, outcome: ModelResponse | Error): void {
    const failed = outcome instanceof Error;
    if (!failed) this.addUsage(usageOf(outcome));
    if (!this.recording) return;
    const span = tracer().startSpan(
      SPAN.modelCall(params.model),
      {
        kind: SpanKind.CLIENT,
        startTime: request.createdAt,
        attributes: {
          ...this.chatAttributes(params),
          [ATTR.modelCallBatch]: true,
          [ATTR.batchCustomId]: request.customId,
          ...(request.batchId ? { [ATTR.batchId]: request.batchId } : {}),
          [ATTR.modelRetries]: request.try - 1,
        },
      },
      this.ctx,
    );
    if (failed) markError(span, outcome, this.rt.secrets);
    else span.setAttributes(responseAttributes(outcome));
    span.end(request.endedAt ?? new Date());
  }

  /** The start attributes of a `chat <model>` span: the execution's, then the request's. */
  private chatAttributes(params: ModelParams): Attributes {
    return {
      ...this.common,
      [ATTR.operationName]: 'chat',
      [ATTR.system]: PROVIDER,
      [ATTR.providerName]: PROVIDER,
      [ATTR.requestModel]: params.model,
      ...(params.max_tokens !== undefined ? { [ATTR.requestMaxTokens]: params.max_tokens } : {}),
      ...(params.temperature !== undefined ? { [ATTR.requestTemperature]: params.temperature } : {}),
    };
  }

  private addUsage(usage: Usage): void {
    this.usage.input += usage.input;
    this.usage.output += usage.output;
    this.usage.cacheRead += usage.cacheRead;
    this.usage.cacheCreation += usage.cacheCreation;
  }

  /**
   * `executeTool` wrapped: each execution of a tool call is an `execute_tool <tool>` span, and the
   * tool runs inside its context: a span the tool starts (in the active context, the default) is
   * its child.
   */
  toolCall<T, X extends ToolCallInfo, Rest extends unknown[], R extends ToolOutcomeLike>(
    fn: (tool: T, toolName: string, input: unknown, ctx: X, ...rest: Rest) => Promise<R>,
  ): (tool: T, toolName: string, input: unknown, ctx: X, ...rest: Rest) => Promise<R> {
    return async (tool, toolName, input, ctx, ...rest) => {
      const attributes = this.recording
        ? {
            ...this.common,
            [ATTR.operationName]: 'execute_tool',
            [ATTR.toolName]: toolName,
            [ATTR.toolCallId]: ctx.idempotencyKey,
            [ATTR.toolType]: 'function',
            [ATTR.toolAttempt]: ctx.attempt,
          }
        : undefined;
      const span = tracer().startSpan(SPAN.toolCall(toolName), { kind: SpanKind.INTERNAL, attributes }, this.ctx);
      const recording = span.isRecording();
      try {
        const outcome = await context.with(trace.setSpan(this.ctx, span), () =>
          fn(tool, toolName, input, ctx, ...rest),
        );
        if (recording) {
          span.setAttribute(ATTR.toolDurationMs, outcome.durationMs);
          if (outcome.isError) {
            const errorType = outcome.errorType ?? 'tool_error';
            span.setAttribute(ATTR.errorType, errorType);
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
          }
        }
        return outcome;
      } catch (err) {
        if (recording) markError(span, err, this.rt.secrets);
        throw err;
      } finally {
        span.end();
      }
    };
  }
}

/** Anthropic's usage → the convention's counts (whose input_tokens includes cache reads and writes). */
function usageOf(m: ModelResponse): Usage {
  const u = m.usage ?? {};
  return {
    input: u.input_tokens ?? 0,
    output: u.output_tokens ?? 0,
    cacheRead: u.cache_read_input_tokens ?? 0,
    cacheCreation: u.cache_creation_input_tokens ?? 0,
  };
}

/** The response's id, model, stop reason and tokens, as a `chat` span carries them. */
function responseAttributes(message: ModelResponse): Attributes {
  return {
    ...usageAttributes(usageOf(message)),
    ...(message.id ? { [ATTR.responseId]: message.id } : {}),
    ...(message.model ? { [ATTR.responseModel]: message.model } : {}),
    ...(message.stop_reason ? { [ATTR.responseFinishReasons]: [message.stop_reason] } : {}),
  };
}

function usageAttributes(u: Usage): Attributes {
  return {
    [ATTR.usageInputTokens]: u.input + u.cacheRead + u.cacheCreation,
    [ATTR.usageOutputTokens]: u.output,
    [ATTR.usageCacheReadInputTokens]: u.cacheRead,
    [ATTR.usageCacheCreationInputTokens]: u.cacheCreation,
    [ATTR.usageUncachedInputTokens]: u.input,
  };
}

/**
 * error.type (the error's own type when it names one, as ModelCallError does with the API's
 * error type, else its class name) and an ERROR status whose message is scrubbed of secrets like
 * everything else agentpg sends out. No stack trace: spans leave the process.
 */
function markError(span: Span, err: unknown, secrets: readonly string[]): void {
  const errorType = errorTypeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  span.setAttribute(ATTR.errorType, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: scrubSecrets(message, secrets).slice(0, 500) });
}

function errorTypeOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const own = (err as { errorType?: unknown }).errorType;
    if (typeof own === 'string' && own) return own;
    const name = err.constructor?.name;
    if (name && name !== 'Object') return name;
  }
  return '_OTHER';
}
