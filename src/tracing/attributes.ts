/**
 * The span attribute names agentpg sets. OpenTelemetry's GenAI semantic conventions where one
 * exists (https://opentelemetry.io/docs/specs/semconv/gen-ai/, status Development: names may
 * still change upstream), `agentpg.*` for ours. The README's Traces section lists them per span.
 */
export const ATTR = {
  // GenAI semantic conventions
  operationName: 'gen_ai.operation.name',
  /** The pre-1.37 name of the provider attribute; both are set, backends read one or the other. */
  system: 'gen_ai.system',
  providerName: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  responseId: 'gen_ai.response.id',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  /** Every input token, cached ones included (the convention's definition; Anthropic's own input_tokens excludes them). */
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  /** The general convention's low-cardinality error class (a stable attribute). */
  errorType: 'error.type',

  // agentpg
  runId: 'agentpg.run.id',
  sessionId: 'agentpg.session.id',
  tenantId: 'agentpg.tenant.id',
  /** Which pick-up of the run this execution is (agentpg_runs.attempts: 1, 2 after a crash...). */
  runAttempt: 'agentpg.run.attempt',
  instanceId: 'agentpg.instance.id',
  /** How the execution ended: finished, handback, lost or suspended (src/runs/executor.ts). */
  runOutcome: 'agentpg.run.outcome',
  /** The state the run was finalized in by this execution: completed, failed or cancelled. */
  runState: 'agentpg.run.state',
  runStopReason: 'agentpg.run.stop_reason',
  /** Anthropic's own input_tokens (without cache reads and writes), as agentpg_runs counts it. */
  usageUncachedInputTokens: 'agentpg.usage.input_tokens',
  /** Messages API attempts after the first (429, 529, 5xx, connection errors) within one model call. */
  modelRetries: 'agentpg.model_call.retries',
  /** [batch] The call went through the Message Batches API (src/batch): its span runs from request to stored result. */
  modelCallBatch: 'agentpg.model_call.batch',
  /** [batch] The API's id of the batch the call went in. */
  batchId: 'agentpg.batch.id',
  /** [batch] The request's custom_id in its batch (agentpg_batch_requests.custom_id). */
  batchCustomId: 'agentpg.batch.custom_id',
  /** Which execution of this tool call it is (agentpg_tool_calls.attempts; the tool's ctx.attempt). */
  toolAttempt: 'agentpg.tool_call.attempt',
  toolDurationMs: 'agentpg.tool_call.duration_ms',
  /** The enqueue found the run already there (same idempotency key): no new run. */
  enqueueExisting: 'agentpg.enqueue.existing',
} as const;

export const PROVIDER = 'anthropic';

/** Span names: `{operation} {target}` as the GenAI conventions name them. */
export const SPAN = {
  enqueue: (agent: string) => `enqueue_run ${agent}`,
  run: (agent: string) => `invoke_agent ${agent}`,
  modelCall: (model: string) => `chat ${model}`,
  toolCall: (tool: string) => `execute_tool ${tool}`,
} as const;
